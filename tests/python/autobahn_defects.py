"""Autobahn|Python peers for the interop defects of issue 15 (tests/tests/interop_defects.rs).

Usage: autobahn_defects.py MODE URL REALM SERIALIZER

Modes:
  displaced-callee  registers com.test.victim, prints "READY <session>", waits until the
                    router says (meta event wamp.registration.on_unregister) that the
                    registration was taken from it, then checks that it is still connected
                    by calling com.test.victim (now served by whoever took it) and prints
                    "ALL OK".
  removed-subscriber subscribes to com.test.news, prints "READY <session> <subscription>",
                    waits until the meta event wamp.subscription.on_unsubscribe says it was
                    removed, checks the session still works (a call to wamp.session.count)
                    and prints "ALL OK".
  slow-callee       registers com.test.slow (sleeps 30 s unless interrupted), prints
                    "READY <session>", and runs until the test kills it.
  e2e               end-to-end encryption (Autobahn's KeyRing, cryptobox) through the router:
                    a callee/subscriber session and a caller/publisher session round-trip a
                    call and an event; prints "ALL OK".
"""

import asyncio
import sys

import txaio

txaio.use_asyncio()

from autobahn.wamp.cryptobox import Key, KeyRing
from autobahn.wamp.types import SubscribeOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


def meta_event_about(me):
    """A future for the ID in the first `[session, id]` meta event about session `me`, and
    the handler to subscribe with."""
    got = asyncio.get_running_loop().create_future()

    def handler(session_id, object_id):
        if session_id == me and not got.done():
            got.set_result(object_id)

    return got, handler


async def displaced_callee(url, realm, ser):
    session, details = await connect(url, realm, ser)
    revoked, handler = meta_event_about(details.session)
    await session.subscribe(handler, "wamp.registration.on_unregister")
    reg = await session.register(lambda: "served by autobahn", "com.test.victim")
    print("READY", details.session, reg.id, flush=True)
    registration = await asyncio.wait_for(revoked, TIMEOUT)
    check(registration == reg.id, "the router says the registration was taken from us")
    check(session.is_attached(), "still joined after the revocation")
    answer = await asyncio.wait_for(session.call("com.test.victim"), TIMEOUT)
    check(answer == "served by rust", "the procedure is served by the session that took it")
    print("ALL OK", flush=True)
    session.leave()


async def removed_subscriber(url, realm, ser):
    session, details = await connect(url, realm, ser)
    removed, handler = meta_event_about(details.session)
    await session.subscribe(handler, "wamp.subscription.on_unsubscribe")
    sub = await session.subscribe(lambda *a, **k: None, "com.test.news")
    print("READY", details.session, sub.id, flush=True)
    subscription = await asyncio.wait_for(removed, TIMEOUT)
    check(subscription == sub.id, "the router says the subscription was removed")
    count = await asyncio.wait_for(session.call("wamp.session.count"), TIMEOUT)
    check(count >= 1, "still joined and served after the removal")
    print("ALL OK", flush=True)
    session.leave()


async def slow_callee(url, realm, ser):
    session, details = await connect(url, realm, ser)

    async def slow():
        await asyncio.sleep(30)
        return "finished"

    await session.register(slow, "com.test.slow")
    print("READY", details.session, flush=True)
    # The test kills this peer when it is done with it.
    await asyncio.sleep(120)


async def e2e(url, realm, ser):
    ring = KeyRing()
    originator_priv, originator_pub = ring.generate_key()
    responder_priv, responder_pub = ring.generate_key()
    # The callee and subscriber (responder) side.
    responder, _ = await connect(url, realm, ser)
    keys = KeyRing()
    keys.set_key("com.secret", Key(originator_pub=originator_pub, responder_priv=responder_priv))
    responder.set_payload_codec(keys)
    events = asyncio.Queue()
    await responder.register(lambda a, b: a + b, "com.secret.add")
    await responder.subscribe(
        lambda msg, details=None: events.put_nowait((msg, details)),
        "com.secret.news",
        options=SubscribeOptions(details_arg="details"),
    )
    # The caller and publisher (originator) side.
    originator, _ = await connect(url, realm, ser)
    keys = KeyRing()
    keys.set_key("com.secret", Key(originator_priv=originator_priv, responder_pub=responder_pub))
    originator.set_payload_codec(keys)
    result = await asyncio.wait_for(originator.call("com.secret.add", 2, 3), TIMEOUT)
    check(result == 5, "an encrypted call round-trips through the router")
    originator.publish("com.secret.news", "hello, encrypted")
    msg, details = await asyncio.wait_for(events.get(), TIMEOUT)
    check(msg == "hello, encrypted", "an encrypted event reaches the subscriber")
    check(details.enc_algo == "cryptobox", "the event says how it is encrypted")
    print("ALL OK", flush=True)
    originator.leave()
    responder.leave()


MODES = {
    "displaced-callee": displaced_callee,
    "removed-subscriber": removed_subscriber,
    "slow-callee": slow_callee,
    "e2e": e2e,
}

if __name__ == "__main__":
    mode, url, realm, ser = sys.argv[1:5]
    asyncio.run(MODES[mode](url, realm, SERIALIZERS[ser]))
