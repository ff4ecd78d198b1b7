"""Basic Profile interoperability: real Autobahn|Python sessions against our router.

Usage: autobahn_basic.py URL REALM SERIALIZER   (SERIALIZER: json, msgpack or cbor;
URL: ws://host:port/path for WebSocket, tcp://host:port for RawSocket)

Two sessions join; one registers and subscribes, the other calls and publishes. Every
result is checked; the script prints "ALL OK" and exits 0 only when all checks pass.
"""

import asyncio
import sys
from urllib.parse import urlparse

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
from autobahn.asyncio.wamp import ApplicationSession, ApplicationSessionFactory
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig, PublishOptions, SubscribeOptions

SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}
TIMEOUT = 10


async def connect(url, realm, serializer, ssl=None):
    """Joins `realm` at `url` (ws://, wss://, tcp:// or tcps://); `ssl` is the
    ssl.SSLContext for wss:// and tcps://."""
    loop = asyncio.get_running_loop()
    joined = loop.create_future()

    class Session(ApplicationSession):
        async def onJoin(self, details):
            if not joined.done():
                joined.set_result((self, details))

        def onLeave(self, details):
            if not joined.done():
                joined.set_exception(RuntimeError(f"left before joining: {details}"))
            self.disconnect()

    factory = ApplicationSessionFactory(ComponentConfig(realm=realm))
    factory.session = Session
    if url.startswith(("tcp://", "tcps://")):
        transport = WampRawSocketClientFactory(factory, serializer=serializer())
    else:
        transport = WampWebSocketClientFactory(factory, url=url, serializers=[serializer()])
    u = urlparse(url)
    await asyncio.wait_for(loop.create_connection(transport, u.hostname, u.port, ssl=ssl), TIMEOUT)
    return await asyncio.wait_for(joined, TIMEOUT)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what, flush=True)


async def main(url, realm, ser_name):
    ser = SERIALIZERS[ser_name]
    callee, details = await connect(url, realm, ser)
    caller, _ = await connect(url, realm, ser)
    check(details.session > 0, "joined with a session ID")
    check(details.authrole == "anonymous", "authrole is anonymous")

    # --- RPC ---
    def add(a, b):
        return a + b

    def echo(*args, **kwargs):
        return {"args": list(args), "kwargs": kwargs}

    def fail(reason):
        raise ApplicationError("com.interop.error.refused", reason, code=7)

    reg = await callee.register(add, "com.interop.add")
    await callee.register(echo, "com.interop.echo")
    await callee.register(fail, "com.interop.fail")
    check(await asyncio.wait_for(caller.call("com.interop.add", 2, 3), TIMEOUT) == 5, "call add(2, 3) == 5")

    # --- Meta API ---
    meta = lambda *a, **k: asyncio.wait_for(caller.call(*a, **k), TIMEOUT)
    check(await meta("wamp.session.count") >= 2, "wamp.session.count")
    check(details.session in await meta("wamp.session.list"), "wamp.session.list")
    info = await meta("wamp.session.get", details.session)
    check(info["session"] == details.session and info["authrole"] == "anonymous", "wamp.session.get")
    reg_id = await meta("wamp.registration.lookup", "com.interop.add")
    check(reg_id == reg.id, "wamp.registration.lookup")
    check(await meta("wamp.registration.count_callees", reg_id) == 1, "wamp.registration.count_callees")
    check((await meta("wamp.registration.get", reg_id))["uri"] == "com.interop.add", "wamp.registration.get")
    blob = bytes(range(256))
    res = await asyncio.wait_for(
        caller.call("com.interop.echo", "héllo", 1.5, None, [1, 2], blob, key="value", n=-7), TIMEOUT
    )
    check(res["args"] == ["héllo", 1.5, None, [1, 2], blob], "positional args round-trip (binary too)")
    check(res["kwargs"] == {"key": "value", "n": -7}, "keyword args round-trip")

    try:
        await asyncio.wait_for(caller.call("com.interop.fail", "nope"), TIMEOUT)
        check(False, "application error raised")
    except ApplicationError as e:
        check(e.error == "com.interop.error.refused", "callee error URI reaches the caller")
        check(list(e.args) == ["nope"], "callee error args reach the caller")
        check(e.kwargs == {"code": 7}, "callee error kwargs reach the caller")

    try:
        await asyncio.wait_for(caller.call("com.interop.missing"), TIMEOUT)
        check(False, "no_such_procedure raised")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_procedure", "unknown procedure gives no_such_procedure")

    try:
        await asyncio.wait_for(caller.register(add, "com.interop.add"), TIMEOUT)
        check(False, "procedure_already_exists raised")
    except ApplicationError as e:
        check(e.error == "wamp.error.procedure_already_exists", "double registration is refused")

    await reg.unregister()
    try:
        await asyncio.wait_for(caller.call("com.interop.add", 1, 1), TIMEOUT)
        check(False, "call after unregister fails")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_procedure", "unregistered procedure is gone")

    # --- PubSub ---
    received = asyncio.Queue()

    def on_event(*args, **kwargs):
        received.put_nowait((list(args), kwargs))

    sub = await callee.subscribe(on_event, "com.interop.topic")
    pub = await caller.publish(
        "com.interop.topic", "news", 42, blob, options=PublishOptions(acknowledge=True), flag=True
    )
    check(pub.id > 0, "acknowledged publication has an ID")
    args, kwargs = await asyncio.wait_for(received.get(), TIMEOUT)
    check(args == ["news", 42, blob] and kwargs == {"flag": True}, "event args and kwargs arrive intact")

    # The publisher is excluded by default, included when it asks.
    own = asyncio.Queue()
    await caller.subscribe(lambda *a, **k: own.put_nowait(a), "com.interop.topic")
    await caller.publish("com.interop.topic", 1, options=PublishOptions(acknowledge=True))
    await asyncio.wait_for(received.get(), TIMEOUT)
    await caller.publish("com.interop.topic", 2, options=PublishOptions(acknowledge=True, exclude_me=False))
    check((await asyncio.wait_for(own.get(), TIMEOUT)) == (2,), "exclude_me=False delivers to the publisher")
    await asyncio.wait_for(received.get(), TIMEOUT)
    check(own.empty(), "publisher excluded by default")

    # Pattern-based subscription.
    pattern = asyncio.Queue()
    await callee.subscribe(
        lambda *a, details=None: pattern.put_nowait(details.topic),
        "com.interop.sensor",
        options=SubscribeOptions(match="prefix", details_arg="details"),
    )
    caller.publish("com.interop.sensor.kitchen", 21.5)  # not acknowledged: returns None
    check((await asyncio.wait_for(pattern.get(), TIMEOUT)) == "com.interop.sensor.kitchen", "prefix subscription")

    await sub.unsubscribe()
    await caller.publish("com.interop.topic", "after", options=PublishOptions(acknowledge=True))
    await asyncio.sleep(0.2)
    check(received.empty(), "no events after unsubscribe")

    try:
        await asyncio.wait_for(caller.publish("com..bad", options=PublishOptions(acknowledge=True)), TIMEOUT)
        check(False, "invalid topic refused")
    except ApplicationError as e:
        check(e.error == "wamp.error.invalid_uri", "invalid topic gives invalid_uri")
    except Exception as e:  # Autobahn may refuse the URI itself before sending
        check("uri" in str(e).lower(), f"invalid topic refused client-side ({e})")

    # --- Leaving ---
    await callee.leave()
    await caller.leave()
    print("ALL OK", ser_name, flush=True)


if __name__ == "__main__":
    url, realm, ser_name = sys.argv[1:4]
    asyncio.run(asyncio.wait_for(main(url, realm, ser_name), 60))
