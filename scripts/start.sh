#!/usr/bin/env bash
# `npm start`: installs what is missing, brings the local stack up, builds, and runs the carrier
# simulators, one worker per region, the API and the codec server (the Temporal UI's /codec) in the foreground, each
# under a small supervisor that restarts it when it exits (with backoff). Ctrl-C stops those; the stack stays up until `npm run stack:down`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

npx tsx scripts/stack.ts up
echo "[start] building"
npm run build --silent

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "[start] stopping the API, the codec server, the workers and the simulators (the stack stays up: npm run stack:down)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

# Runs one process and starts it again whenever it exits, until Ctrl-C: 1 s after the first exit, doubling
# up to 30 s while it keeps failing, back to 1 s once it has run for a minute. On TERM or INT the
# supervisor stops its process (waiting for its graceful close) and ends.
supervise() {
  local name=$1
  shift
  local child=0 delay=1 started rc
  trap 'trap - TERM INT; [ "$child" -gt 0 ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null || true; exit 0' TERM INT
  while true; do
    started=$SECONDS
    "$@" &
    child=$!
    rc=0
    wait "$child" || rc=$?
    child=0
    if [ $((SECONDS - started)) -ge 60 ]; then delay=1; fi
    echo "{\"level\":40,\"msg\":\"[start] $name exited with status $rc; restarting in ${delay} s\"}"
    sleep "$delay" &
    wait $! || true
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

launch() {
  local name=$1
  shift
  supervise "$name" "$@" > >(npx --no-install pino-pretty --colorize --ignore pid,hostname --messageKey msg | sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
}

export HTTP_CARRIER_TOKEN=dev-carrier-token HTTP_CARRIER_WEBHOOK_SECRET=dev-carrier-webhook-secret
launch smsc node dist/carriers/simulators/smpp/smsc-main.js
launch http-carrier node dist/carriers/simulators/http/carrier-main.js
# One worker per region (each polls its region's task queue; metrics ports per region, workers/metrics-ports.ts).
regions=$(node -p "require('./dist/domain/regions').REGIONS.join(' ')")
for region in $regions; do
  launch "worker-$region" env WORKER_REGION="$region" node dist/processes/worker.js
done
launch api node dist/processes/api.js
# The Temporal UI's codec server, a process of its own: the only one that logs in to Vault as codec-server.
launch codec-server node dist/processes/codec-server.js
api_key=$(node dist/scripts/dev-seed.js)
api="http://${API_HOST:-127.0.0.1}:${API_PORT:-3000}"

for _ in $(seq 1 60); do
  curl -fs "$api/readyz" >/dev/null 2>&1 && break
  sleep 1
done
cat <<MSG

  SMS pipeline is running.
    API            $api   (readiness: /readyz)
    API docs       $api/docs
    Temporal UI    http://127.0.0.1:${TEMPORAL_UI_PORT:-8233}
    Codec server   http://${CODEC_HOST:-127.0.0.1}:${CODEC_PORT:-8089}/codec   (operators sign in at /codec/login)
    Carriers       SMPP simulator :2775, HTTP carrier simulator :2776
    Workers        one per region: $regions (npm run stack:status lists their task queues' pollers)
    Logs           .data/logs/ (stack), this terminal (API, workers, simulators)
    Dev API key    tenant "demo", roles sender+admin (kept in .data/dev-api-key.json)

  Send one:
    curl -s $api/v1/messages -H "authorization: Bearer $api_key" -H 'content-type: application/json' \\
      -d '{"to":"+447400123456","body":"Your code is 123456","purpose":"otp"}'

  Ctrl-C stops the API, the codec server, the workers and the simulators; \`npm run stack:down\` stops the stack.

MSG
wait
