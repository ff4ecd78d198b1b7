"""Autobahn|Python calls and serves across the nodes of a router cluster.

Usage: autobahn_cluster_rpc.py URL_A URL_C REALM SERIALIZER

1. a callee on node C (URL_C) registers com.py.add and com.py.fail, and prints "READY";
2. a caller on node A (URL_A) calls com.rust.mul (a Rust callee on node B), com.rust.count
   with progressive results, and com.py.add (the callee above, through another node);
3. prints "ALL OK <serializer>" once every answer checks out and a Rust caller on node A
   called com.py.add as well.
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


async def main(url_a, url_c, realm, ser_name):
    ser = SERIALIZERS[ser_name]
    callee, _ = await connect(url_c, realm, ser)

    calls = {"add": 0}
    both = asyncio.get_running_loop().create_future()

    def add(a, b):
        calls["add"] += 1
        if calls["add"] == 2 and not both.done():
            both.set_result(None)
        return a + b

    def fail():
        raise ApplicationError("com.py.error.refused", "no", code=7)

    await callee.register(add, "com.py.add")
    await callee.register(fail, "com.py.fail")
    print("READY", flush=True)
    caller, _ = await connect(url_a, realm, ser)

    check(await caller.call("com.rust.mul", 6, 7) == 42, "Rust callee on another node")
    parts = []
    result = await caller.call(
        "com.rust.count", 3, options=CallOptions(on_progress=lambda p: parts.append(p))
    )
    check(parts == [0, 1, 2] and result == 3, f"progressive results across nodes ({parts}, {result})")
    check(await caller.call("com.py.add", 2, 3) == 5, "Python callee through another node")
    try:
        await caller.call("com.py.fail")
        check(False, "the error arrives")
    except ApplicationError as e:
        check(e.error == "com.py.error.refused" and e.args[0] == "no" and e.kwargs["code"] == 7,
              "application error with args and kwargs across nodes")
    # The Rust caller on node A calls com.py.add too.
    await asyncio.wait_for(both, TIMEOUT)
    print("ALL OK", ser_name, flush=True)
    caller.leave()
    callee.leave()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]))
