#!/usr/bin/env bash
# Builds the demo page: the TypeScript page (app.ts) and the client generated from the
# Rust contracts (services.ts, by `wamp codegen typescript`) type-checked and compiled by
# tsc, with Autobahn|JS from the npm registry (the versions package-lock.json pins), into
# dist/. The router serves dist/ as it is.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/tsc ] || [ ! -d node_modules/autobahn-browser ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf dist
node_modules/.bin/tsc -p tsconfig.json
cp index.html dist/
cp node_modules/autobahn-browser/autobahn.min.js dist/
echo "examples/web/dist: $(ls dist | tr '\n' ' ')"
