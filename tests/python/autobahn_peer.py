"""Autobahn|Python facing our Rust client: one Autobahn session that both serves and uses
procedures and topics, while a Rust session (the test) does the same from the other side.

Usage: autobahn_peer.py URL REALM SERIALIZER   (SERIALIZER: json, msgpack or cbor)

1. registers com.py.add, com.py.echo and com.py.fail, subscribes to com.rust.news, and
   prints "READY <session id>";
2. calls the Rust procedures com.rust.mul, com.rust.greet and com.rust.fail, and publishes
   to com.py.news, checking every answer;
3. waits for the three events the Rust side publishes to com.rust.news, checks them, and
   prints "ALL OK <serializer>".
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, CallResult, PublishOptions, RegisterOptions, SubscribeOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


async def main(url, realm, ser_name):
    session, details = await connect(url, realm, SERIALIZERS[ser_name])

    def add(a, b):
        return a + b

    def echo(*args, **kwargs):
        return CallResult(*args, **kwargs)

    def fail(reason):
        raise ApplicationError("com.py.error.refused", reason, code=7)

    async def progress(n, details=None):
        for i in range(n):
            if details.progress:
                details.progress(f"part {i}")
            await asyncio.sleep(0.01)
        return "done"

    await session.register(progress, "com.py.progress", options=RegisterOptions(details_arg="details"))
    await session.register(add, "com.py.add")
    await session.register(echo, "com.py.echo")
    await session.register(fail, "com.py.fail")
    events = asyncio.Queue()

    def on_news(*args, details=None, **kwargs):
        events.put_nowait((list(args), kwargs, details.publisher))

    await session.subscribe(on_news, "com.rust.news", options=SubscribeOptions(details_arg="details"))
    temperatures = asyncio.Queue()
    await session.subscribe(
        lambda *a, **k: temperatures.put_nowait((list(a), k)), "com.rust.sensor.kitchen.temperature"
    )
    print("READY", details.session, flush=True)

    call = lambda *a, **k: asyncio.wait_for(session.call(*a, **k), TIMEOUT)
    check(await call("com.rust.mul", 6, 7) == 42, "Rust callee: positional args and result")
    check(
        await call("com.rust.greet", name="ada", times=1) == {"name": "hello ada", "times": 2},
        "Rust callee: keyword args in, a struct out",
    )
    check(await call("com.rust.nothing") is None, "Rust callee: no result is None")
    try:
        await call("com.rust.fail", 3)
        check(False, "Rust callee error raised")
    except ApplicationError as e:
        check(e.error == "com.rust.error.refused", "Rust callee error URI")
        check(list(e.args) == ["refused: 3"], "Rust callee error args")
        check(e.kwargs == {"value": 3}, "Rust callee error kwargs")
    try:
        await call("com.rust.mul", "six", 7)
        check(False, "wrong argument types refused")
    except ApplicationError as e:
        check(e.error == "wamp.error.invalid_argument", "wrong argument types give invalid_argument")

    # The macro-generated callee: positional and keyword arguments, typed errors.
    check(await call("com.rust.calc.add", 2, 3) == 5, "typed callee: positional args")
    check(await call("com.rust.calc.add", a=20, b=22) == 42, "typed callee: keyword args")
    check(await call("com.rust.calc.divide", 1, b=4) == 0.25, "typed callee: mixed args")
    try:
        await call("com.rust.calc.divide", 1, 0)
        check(False, "typed error raised")
    except ApplicationError as e:
        check(e.error == "com.rust.calc.division_by_zero", "typed callee: error URI")
    partial = []
    final = await call("com.rust.count.up_to", 4, options=CallOptions(on_progress=partial.append))
    check(partial == [1, 2, 3, 4], f"progressive results from a Rust stream ({partial})")
    check(final is None, "the final result of a Rust stream is empty")
    check(await call("com.rust.count.up_to", 3) == [1, 2, 3], "without progress: every result as a list")
    try:
        await call("com.rust.calc.add", 2**63 - 1, 1)
        check(False, "overflow raised")
    except ApplicationError as e:
        check(e.error == "com.rust.calc.overflow", "typed callee: error URI with fields")
        check(e.kwargs == {"limit": 2**63 - 1}, "typed callee: error fields as kwargs")

    await session.publish(
        "com.py.news", "from python", 1, options=PublishOptions(acknowledge=True)
    )

    # A typed topic: named fields arrive as kwargs, placeholders in the topic.
    args, kwargs = await asyncio.wait_for(temperatures.get(), TIMEOUT)
    check(args == [] and kwargs == {"room": "kitchen", "celsius": 21.5}, "typed topic event as kwargs")
    await session.publish(
        "com.py.sensor.attic.temperature", room="attic", celsius=30.5,
        options=PublishOptions(acknowledge=True),
    )

    got = [await asyncio.wait_for(events.get(), TIMEOUT) for _ in range(3)]
    check(got[0][0] == ["one"] and got[0][1] == {}, "Rust event: one positional arg")
    check(got[1][0] == [] and got[1][1] == {"name": "kw", "times": 9}, "Rust event: a struct as kwargs")
    check(got[2][0] == [bytes(range(256))], "Rust event: binary")
    check(got[2][2] is not None, "Rust event: publisher disclosed")

    await session.leave()
    print("ALL OK", ser_name, flush=True)


if __name__ == "__main__":
    url, realm, ser_name = sys.argv[1:4]
    asyncio.run(asyncio.wait_for(main(url, realm, ser_name), 60))
