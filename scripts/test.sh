#!/usr/bin/env bash
# `npm test`: installs what is missing, brings the local stack up (only what is not running), runs every
# Jest project, then stops only the services this run started. Extra arguments go to Jest.
# When this run started the Temporal dev server (a fresh machine, as in CI), it then stops it and runs the
# end-to-end project a second time against the real Temporal server on PostgreSQL (STACK_TEMPORAL=server,
# same ports; built into .tools the first time, docs/local-stack.md): CI runs the e2e suite on both.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

flavour=${STACK_TEMPORAL:-dev}
started_file=$(mktemp)
server_started_file=$(mktemp)
cleanup() {
  local only
  # The real server's pass first: its Temporal persists in the PostgreSQL the first list may name.
  only=$(paste -sd, "$server_started_file")
  if [ -n "$only" ]; then STACK_TEMPORAL=server npx tsx scripts/stack.ts down --only "$only" || true; fi
  only=$(paste -sd, "$started_file")
  if [ -n "$only" ]; then STACK_TEMPORAL=$flavour npx tsx scripts/stack.ts down --only "$only" || true; fi
  rm -f "$started_file" "$server_started_file"
}
trap cleanup EXIT
npx tsx scripts/stack.ts up --started-file "$started_file"

mkdir -p test-output
bash scripts/ensure-chromium.sh
# The Helm chart's check needs helm and kubeconform (built from their Go modules) and the Kubernetes
# schemas: installed here, not inside a test.
npx tsx scripts/stack.ts chart-tools >/dev/null
if [ "$#" -gt 0 ]; then
  npx jest "$@"
else
  # Everything but the restart tests, then the restart tests alone and one at a time (test/stack/restart
  # restarts the services under the others).
  npx jest --selectProjects unit workflows integration e2e browser
  npx jest --selectProjects stack --runInBand
  if [ "$flavour" = dev ] && grep -qx temporal "$started_file"; then
    echo "[test] the e2e project again, on the real Temporal server (STACK_TEMPORAL=server)"
    npx tsx scripts/stack.ts down --only temporal
    sed -i '/^temporal$/d' "$started_file"
    STACK_TEMPORAL=server npx tsx scripts/stack.ts up --started-file "$server_started_file"
    STACK_TEMPORAL=server npx jest --selectProjects e2e
  fi
fi
