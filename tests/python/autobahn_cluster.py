"""Autobahn|Python on one node of a router cluster, facing Rust sessions on the others.

Usage: autobahn_cluster.py URL REALM SERIALIZER COUNT

1. subscribes to com.cluster.news (exact) and com.cluster (prefix) on the node at URL and
   prints "READY <session id>";
2. waits for COUNT events that a Rust session publishes on another node, alternately to
   com.cluster.news and com.cluster.other, and checks that each subscription sees its own
   in publish order, the prefix one with the topic published to;
3. publishes "from python" to com.cluster.py (acknowledged) for a Rust
   subscriber on another node, and prints "ALL OK <serializer>".
"""

import asyncio
import sys

from autobahn.wamp.types import PublishOptions, SubscribeOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


async def main(url, realm, ser_name, count):
    session, details = await connect(url, realm, SERIALIZERS[ser_name])
    exact, prefix = [], []
    done = asyncio.get_running_loop().create_future()

    def arrived():
        if len(prefix) == count and not done.done():
            done.set_result(None)

    def on_exact(n, details=None):
        exact.append(n)

    def on_prefix(n, details=None):
        prefix.append((n, details.topic))
        arrived()

    await session.subscribe(on_exact, "com.cluster.news")
    await session.subscribe(on_prefix, "com.cluster", options=SubscribeOptions(match="prefix", details_arg="details"))
    print("READY", details.session, flush=True)

    await asyncio.wait_for(done, TIMEOUT)
    check(exact == list(range(0, count, 2)), f"exact events in order ({len(exact)})")
    want = [(i, "com.cluster.news" if i % 2 == 0 else "com.cluster.other") for i in range(count)]
    check(prefix == want, "prefix events in publish order, with their topics")

    await session.publish(
        "com.cluster.py",
        "from python",
        options=PublishOptions(acknowledge=True),
    )
    print("ALL OK", ser_name, flush=True)
    session.leave()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
