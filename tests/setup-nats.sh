#!/usr/bin/env bash
# What the cluster tests need: nats-server with JetStream (Debian's), installed with
# apt-get when missing (that needs root). Safe to run from parallel test processes.
set -euo pipefail
found() {
    for p in "${NATS_SERVER:-}" /usr/sbin/nats-server /usr/bin/nats-server "$(command -v nats-server || true)"; do
        if [ -n "$p" ] && [ -x "$p" ]; then
            "$p" --version
            return 0
        fi
    done
    return 1
}
found && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
    echo "setup-nats.sh: install nats-server (apt-get install nats-server, as root), or set NATS_SERVER" >&2
    exit 1
fi
exec 9> /tmp/wamp-setup-nats.lock
flock 9
found && exit 0
echo "setup-nats.sh: apt-get install nats-server"
apt-get update -qq && apt-get install -y -qq nats-server > /dev/null
found
