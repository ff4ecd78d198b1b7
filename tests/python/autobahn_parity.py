"""What a Crossbar.io user relies on, checked with Autobahn|Python sessions on our router,
one feature per run.

Usage: autobahn_parity.py URL REALM SERIALIZER FEATURE
  FEATURE: concurrency | testament | history
  (history: the router keeps the history of com.parity.log, exact, 5 events, and of
  com.parity.feed., prefix)

Prints "ALL OK <feature>" and exits 0 only when every check passes.
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, RegisterOptions, SubscribeOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect

MAX_CONCURRENCY = "crossbar.error.max_concurrency_reached"


async def refused(call, what):
    """The call fails with Crossbar's max-concurrency error, promptly."""
    try:
        await asyncio.wait_for(call, TIMEOUT)
        check(False, what)
    except ApplicationError as e:
        check(e.error == MAX_CONCURRENCY, f"{what} ({e.error})")


async def gone(session, sid):
    """Waits until the router no longer knows session `sid`."""
    for _ in range(200):
        try:
            await asyncio.wait_for(session.call("wamp.session.get", sid), TIMEOUT)
        except ApplicationError as e:
            if e.error == "wamp.error.no_such_session":
                return
            raise
        await asyncio.sleep(0.05)
    check(False, f"session {sid} left")


async def concurrency(url, realm, ser):
    one, _ = await connect(url, realm, ser)
    two, d_two = await connect(url, realm, ser)
    caller, _ = await connect(url, realm, ser)

    # A callee that holds each invocation until told to finish it.
    release = {"one": asyncio.Event(), "two": asyncio.Event()}
    running = asyncio.Queue()

    def held(name):
        async def serve(x):
            running.put_nowait(name)
            await release[name].wait()
            return [name, x]

        return serve

    # --- A single registration with concurrency 1: a second call at once is refused ---
    await one.register(held("one"), "com.parity.single", options=RegisterOptions(concurrency=1))
    first = asyncio.ensure_future(caller.call("com.parity.single", 1))
    check(await asyncio.wait_for(running.get(), TIMEOUT) == "one", "the first call runs")
    await refused(caller.call("com.parity.single", 2), "a call past the callee's concurrency is refused")
    release["one"].set()
    check(await asyncio.wait_for(first, TIMEOUT) == ["one", 1], "the running call completes")
    check(await asyncio.wait_for(caller.call("com.parity.single", 3), TIMEOUT) == ["one", 3],
          "once it completed the callee takes calls again")
    check(running.get_nowait() == "one", "it ran")
    release["one"].clear()

    # --- Shared round-robin, concurrency 1 each: the busy callee is passed over ---
    rr = RegisterOptions(invoke="roundrobin", concurrency=1)
    await one.register(held("one"), "com.parity.shared", options=rr)
    await two.register(held("two"), "com.parity.shared", options=rr)
    a = asyncio.ensure_future(caller.call("com.parity.shared", "a"))
    b = asyncio.ensure_future(caller.call("com.parity.shared", "b"))
    got = {await asyncio.wait_for(running.get(), TIMEOUT), await asyncio.wait_for(running.get(), TIMEOUT)}
    check(got == {"one", "two"}, f"two calls at once go to the two callees ({got})")
    await refused(caller.call("com.parity.shared", "c"), "with both at their limit the caller gets the error")
    release["one"].set()
    release["two"].set()
    results = [await asyncio.wait_for(x, TIMEOUT) for x in (a, b)]
    check(sorted(r[0] for r in results) == ["one", "two"], f"both complete ({results})")

    # --- With one callee gone, the other is the only one to take calls ---
    release["one"].clear()
    release["two"].clear()
    two.leave()
    await gone(caller, d_two.session)
    c = asyncio.ensure_future(caller.call("com.parity.shared", "d"))
    check(await asyncio.wait_for(running.get(), TIMEOUT) == "one", "the remaining callee serves")
    await refused(caller.call("com.parity.shared", "e"), "the remaining callee at its limit")
    release["one"].set()
    check(await asyncio.wait_for(c, TIMEOUT) == ["one", "d"], "and completes")

    for s in (one, caller):
        s.leave()


async def testament(url, realm, ser):
    watcher, _ = await connect(url, realm, ser)
    leaver, d_leaver = await connect(url, realm, ser)
    heard = asyncio.Queue()
    await watcher.subscribe(
        lambda *a, details=None, **k: heard.put_nowait((details.topic, list(a), k)),
        "com.parity.will.",
        options=SubscribeOptions(match="prefix", details_arg="details"),
    )
    left = asyncio.Queue()
    await watcher.subscribe(lambda sid, *rest: left.put_nowait(sid), "wamp.session.on_leave")
    call = lambda *a, **k: asyncio.wait_for(leaver.call(*a, **k), TIMEOUT)

    # Positional topic, args and kwargs, as the spec and Crossbar.io write them.
    pub = await call("wamp.session.add_testament", "com.parity.will.gone", ["bye"], {"who": "leaver"})
    check(isinstance(pub, int), f"add_testament answers the publication ID, as Crossbar.io ({pub!r})")
    await call("wamp.session.add_testament", "com.parity.will.detached", ["first"], {}, scope="detached")
    await call("wamp.session.add_testament", "com.parity.will.flushed", ["never"], {})
    await call("wamp.session.add_testament", "com.parity.will.flushed", ["never"], {}, scope="detached")
    n = await call("wamp.session.flush_testaments", scope="detached")
    check(n == 2, f"flush_testaments(detached) flushes what it held ({n})")
    await call("wamp.session.add_testament", "com.parity.will.detached", ["first"], {}, scope="detached")
    try:
        await call("wamp.session.add_testament", "com.parity.will.x", [], {}, scope="sometime")
        check(False, "a bad scope is refused")
    except ApplicationError as e:
        check(e.error == "wamp.error.invalid_argument", f"a bad scope is refused ({e.error})")
    try:
        await call("wamp.session.add_testament", "com.parity.will..x", [], {})
        check(False, "a bad topic is refused")
    except ApplicationError as e:
        check(e.error == "wamp.error.invalid_uri", f"a bad topic is refused ({e.error})")
    # The destroyed testament that was flushed with the detached ones is still there:
    # flushing one scope leaves the other.
    n = await call("wamp.session.flush_testaments")
    check(n == 2, f"flush_testaments() flushes the destroyed scope ({n})")
    await call("wamp.session.add_testament", "com.parity.will.gone", ["bye"], {"who": "leaver"},
               publish_options={"disclose_me": True})

    # The connection is lost, not closed: the router publishes them all the same.
    leaver._transport.transport.abort()
    got = [await asyncio.wait_for(heard.get(), TIMEOUT) for _ in range(2)]
    check(got[0] == ("com.parity.will.detached", ["first"], {}), f"the detached testament first ({got[0]})")
    check(got[1] == ("com.parity.will.gone", ["bye"], {"who": "leaver"}), f"then the destroyed one ({got[1]})")
    # The router publishes testaments before the session's on_leave: once that came,
    # anything flushed would have come before it.
    while await asyncio.wait_for(left.get(), TIMEOUT) != d_leaver.session:
        pass
    check(heard.empty(), "flushed testaments are not published")
    watcher.leave()


async def history(url, realm, ser):
    reader, _ = await connect(url, realm, ser)
    writer, _ = await connect(url, realm, ser)
    call = lambda *a, **k: asyncio.wait_for(reader.call(*a, **k), TIMEOUT)

    # The subscription is there before anyone subscribes.
    log = await call("wamp.subscription.lookup", "com.parity.log")
    check(isinstance(log, int), f"the history's subscription exists from the start ({log})")
    for i in range(7):
        await asyncio.wait_for(
            writer.publish("com.parity.log", i, note=f"n{i}", options=PublishOptions(acknowledge=True)),
            TIMEOUT,
        )
    events = await call("wamp.subscription.get_events", log)
    check([e["args"] for e in events] == [[2], [3], [4], [5], [6]], f"the last 5, oldest first ({events})")
    first = events[0]
    check(first["subscription"] == log and isinstance(first["publication"], int), "subscription and publication IDs")
    check(first["kwargs"] == {"note": "n2"}, f"kwargs kept ({first})")
    check(isinstance(first["timestamp"], str) and first["timestamp"].endswith("Z"), f"an RFC 3339 timestamp ({first})")
    newest = await call("wamp.subscription.get_events", log, reverse=True, limit=2)
    check([e["args"][0] for e in newest] == [6, 5], f"reverse and limit ({newest})")
    page = await call("wamp.subscription.get_events", log, after_publication=events[2]["publication"])
    check([e["args"][0] for e in page] == [5, 6], f"after_publication pages on ({page})")
    back = await call("wamp.subscription.get_events", log, reverse=True, before_publication=events[2]["publication"])
    check([e["args"][0] for e in back] == [3, 2], f"before_publication pages back ({back})")
    later = await call("wamp.subscription.get_events", log, from_time="2999-01-01T00:00:00Z")
    check(later == [], "from_time in the future: nothing")

    # A prefix history, filtered by topic; events sent to sessions by ID are not kept.
    feed = await call("wamp.subscription.lookup", "com.parity.feed.", {"match": "prefix"})
    await asyncio.wait_for(writer.publish("com.parity.feed.a", "a", options=PublishOptions(acknowledge=True)), TIMEOUT)
    await asyncio.wait_for(writer.publish("com.parity.feed.b", "b", options=PublishOptions(acknowledge=True)), TIMEOUT)
    await asyncio.wait_for(
        writer.publish("com.parity.feed.a", "secret", options=PublishOptions(acknowledge=True, eligible=[reader._session_id])),
        TIMEOUT,
    )
    only_a = await call("wamp.subscription.get_events", feed, topic="com.parity.feed.a")
    check([e["args"] for e in only_a] == [["a"]], f"topic filter, no session-list events ({only_a})")
    check(only_a[0]["details"].get("topic") == "com.parity.feed.a", "a pattern event's details name its topic")

    try:
        await call("wamp.subscription.get_events", log, limit=0)
        check(False, "a bad limit is refused")
    except ApplicationError as e:
        check(e.error == "wamp.error.invalid_argument", f"a bad limit is refused ({e.error})")
    try:
        await call("wamp.subscription.get_events", 123456789)
        check(False, "an unknown subscription is refused")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_subscription", f"an unknown subscription is refused ({e.error})")
    check(reader._router_roles["broker"].event_history, "the router announces event_history")
    for s in (reader, writer):
        s.leave()


FEATURES = {"concurrency": concurrency, "testament": testament, "history": history}


async def main(url, realm, ser_name, feature):
    await FEATURES[feature](url, realm, SERIALIZERS[ser_name])
    print(f"ALL OK {feature}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
