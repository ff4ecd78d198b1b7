#!/usr/bin/env bash
# Bundles the demo page: Autobahn|JS from the npm registry (the version package-lock.json
# pins) next to the page's own files, in dist/. The router serves dist/ as it is.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/autobahn-browser ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf dist
mkdir -p dist
cp index.html app.js dist/
cp node_modules/autobahn-browser/autobahn.min.js dist/
echo "examples/web/dist: $(ls dist | tr '\n' ' ')"
