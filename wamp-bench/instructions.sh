#!/usr/bin/env bash
# Instructions per routed message, counted by valgrind's callgrind: a count, stable on a
# noisy machine where a rate is not.
#
#   wamp-bench/instructions.sh rpc|pubsub baseline|router [extra wamp-bench arguments]
#
# The relay (the baseline or our router) runs under callgrind; once it listens its
# counters are zeroed, the load tool (not under valgrind) runs a fixed-length load,
# the counters are dumped, and the count is divided by what the load moved: finished
# calls (a CALL, an INVOCATION, a YIELD and a RESULT each) or delivered events.
# The dump is kept (the path is printed) for `callgrind_annotate`'s per-function counts.
#
# Needs valgrind and a release build: cargo build --release -p wamp-bench -p wamp-router
# (ROUTER_BIN=path measures another build of the router).
set -euo pipefail

scenario=${1:?rpc or pubsub}
relay=${2:?baseline or router}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release
port=${PORT:-9300}
seconds=${SECONDS_MEASURED:-20}
out=${OUT:-/tmp/wamp-callgrind.$scenario.$relay.out}

case $relay in
  baseline) cmd=("$bin/wamp-bench" baseline --listen "127.0.0.1:$port") ;;
  router) cmd=("${ROUTER_BIN:-$bin/wamp-router}" --listen "127.0.0.1:$port") ;;
  *) echo "relay: baseline or router" >&2; exit 2 ;;
esac

if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  echo "port $port is in use (PORT=… picks another)" >&2; exit 1
fi
rm -f "$out"
valgrind --tool=callgrind --callgrind-out-file="$out" "${cmd[@]}" >/tmp/wamp-callgrind.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT

# Poll until it listens (valgrind starts slowly).
for _ in $(seq 600); do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then break; fi
  sleep 0.1
done
callgrind_control -z "$pid" >/dev/null 2>&1

url=ws://127.0.0.1:$port/ws
case $scenario in
  rpc)
    line=$("$bin/wamp-bench" rpc --url "$url" --callers 4 --in-flight 8 --payload 64 \
      --serializer msgpack --seconds "$seconds" "$@")
    moved=$(sed -n 's/.*(\([0-9]*\) calls in all).*/\1/p' <<<"$line")
    unit=call ;;
  pubsub)
    line=$("$bin/wamp-bench" pubsub --url "$url" --publishers 1 --subscribers 100 --window 16 \
      --payload 64 --serializer msgpack --seconds "$seconds" "$@")
    moved=$(sed -n 's/.*(\([0-9]*\) delivered in all).*/\1/p' <<<"$line")
    unit=event ;;
  *) echo "scenario: rpc or pubsub" >&2; exit 2 ;;
esac

callgrind_control -d "$pid" >/dev/null 2>&1
# The dump of the zeroed counters is the file with a part number.
dump=$(ls -t "$out".* 2>/dev/null | head -1)
for _ in $(seq 100); do
  if [ -n "$dump" ] && grep -q '^totals:' "$dump"; then break; fi
  sleep 0.1
  dump=$(ls -t "$out".* 2>/dev/null | head -1)
done
instructions=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$dump")
echo "$line"
echo "$scenario $relay: $instructions instructions / $moved ${unit}s = $((instructions / moved)) per $unit  (dump: $dump)"
