#!/usr/bin/env bash
# `npm start`: installs what is missing, brings the local stack up, builds, and runs the carrier
# simulators, a worker and the API in the foreground. Ctrl-C stops those; the stack stays up
# until `npm run stack:down`.
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
  echo "[start] stopping API and worker (the stack stays up: npm run stack:down)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

launch() {
  local name=$1
  shift
  "$@" > >(npx --no-install pino-pretty --colorize --ignore pid,hostname --messageKey msg | sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
}

export HTTP_CARRIER_TOKEN=dev-carrier-token HTTP_CARRIER_WEBHOOK_SECRET=dev-carrier-webhook-secret
launch smsc node dist/carriers/smpp/simulator-main.js
launch http-carrier node dist/carriers/http/simulator-main.js
launch worker node dist/workers/main.js
launch api node dist/api/server.js
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
    Carriers       SMPP simulator :2775, HTTP carrier simulator :2776
    Logs           .data/logs/ (stack), this terminal (API, worker, simulators)
    Dev API key    tenant "demo", roles sender+admin (kept in .data/dev-api-key.json)

  Send one:
    curl -s $api/v1/messages -H "authorization: Bearer $api_key" -H 'content-type: application/json' \\
      -d '{"to":"+447400123456","body":"Your code is 123456","purpose":"otp"}'

  Ctrl-C stops the API, the worker and the simulators; \`npm run stack:down\` stops the stack.

MSG
wait
