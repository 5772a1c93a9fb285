#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests, and a font with Chinese
# characters for its pages and the plots, then run the given command.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
  echo "installing chromium and fonts-wqy-microhei (Debian packages)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium fonts-wqy-microhei >&2
fi
export ISLETBASE_CHROMIUM="${ISLETBASE_CHROMIUM:-$(command -v chromium)}"
exec "$@"
