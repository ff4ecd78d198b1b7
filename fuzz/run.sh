#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), starting from the committed seeds
# (fuzz/seeds/<target>) and the corpus earlier runs grew (fuzz/corpus/<target>, not
# committed). Installs cargo-fuzz when it is missing. Works on the stable toolchain: the
# targets are built without a sanitizer (-s none); a panic anywhere, including in a router
# task, aborts, and libFuzzer saves the input under fuzz/artifacts/<target>/.
#
#   bash fuzz/run.sh 30                   # every target, 30 s each
#   bash fuzz/run.sh 600 session          # one target, longer
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decode_json decode_msgpack decode_cbor rawsocket websocket session)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
cargo fuzz build -s none -O
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzzing $t for ${seconds}s"
  status=0
  cargo fuzz run -s none -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"logs/$t.log" 2>&1 || status=$?
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "logs/$t.log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $t failed (exit $status); the end of fuzz/logs/$t.log:" >&2
    tail -n 40 "logs/$t.log" >&2
    exit 1
  fi
done
echo "fuzzing: no failures"
