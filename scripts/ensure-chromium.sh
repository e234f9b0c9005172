#!/usr/bin/env bash
# Makes sure a Chromium is installed for the browser tests (test/browser/), and prints its path.
# Installs Debian's `chromium` with apt-get when it is missing and we are root; otherwise says what to do.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (apt-get) for the browser tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium not found: install it (Debian/Ubuntu: apt-get install chromium) for the browser tests" >&2
    exit 1
  fi
fi
command -v chromium
