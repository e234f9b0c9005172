#!/usr/bin/env bash
# `npm test`: installs what is missing, brings the local stack up (only what is not running), runs every
# Jest project, then stops only the services this run started. Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

started_file=$(mktemp)
cleanup() {
  local only
  only=$(paste -sd, "$started_file")
  if [ -n "$only" ]; then npx tsx scripts/stack.ts down --only "$only" || true; fi
  rm -f "$started_file"
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
fi
