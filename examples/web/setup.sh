#!/usr/bin/env bash
# What the browser demo and its end-to-end test need: Node.js and npm, Debian's Chromium
# (installed with apt-get when missing; that needs root), then the page built by build.sh.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
command -v node > /dev/null && command -v npm > /dev/null || missing+=(nodejs npm)
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
        echo "setup.sh: install ${missing[*]} (apt-get as root), or set CHROMIUM" >&2
        exit 1
    fi
    echo "setup.sh: apt-get install ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" > /dev/null
fi
bash build.sh
