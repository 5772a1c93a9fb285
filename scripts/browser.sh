#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests, then run the given command.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium fonts-wqy-microhei >&2
fi
export ISLETBASE_CHROMIUM="${ISLETBASE_CHROMIUM:-$(command -v chromium)}"
exec "$@"
