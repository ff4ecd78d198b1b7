"""Advanced Profile interoperability: Autobahn|Python sessions use pattern and shared
registrations, caller and publisher identification, call cancelling, call timeouts, pattern
subscriptions, black/white-listing and event retention on our router.

Usage: autobahn_advanced.py URL REALM SERIALIZER   (as autobahn_basic.py)

Prints "ALL OK <serializer>" and exits 0 only when every check passes.
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, PublishOptions, RegisterOptions, SubscribeOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


async def main(url, realm, ser_name):
    ser = SERIALIZERS[ser_name]
    one, d_one = await connect(url, realm, ser)
    two, d_two = await connect(url, realm, ser)
    caller, d_caller = await connect(url, realm, ser)
    call = lambda *a, **k: asyncio.wait_for(caller.call(*a, **k), TIMEOUT)

    # --- Pattern-based registrations: the callee learns the URI called ---
    with_details = RegisterOptions(match="prefix", details_arg="details")
    await one.register(lambda details=None: details.procedure, "com.adv.files.", options=with_details)
    check(await call("com.adv.files.a.txt") == "com.adv.files.a.txt", "prefix registration")
    wildcard = RegisterOptions(match="wildcard", details_arg="details")
    await one.register(lambda details=None: details.procedure, "com.adv..get", options=wildcard)
    check(await call("com.adv.users.get") == "com.adv.users.get", "wildcard registration")
    await one.register(lambda: "exact", "com.adv.files.exact")
    check(await call("com.adv.files.exact") == "exact", "exact beats prefix")

    # --- Shared registrations ---
    rr = RegisterOptions(invoke="roundrobin")
    await one.register(lambda: "one", "com.adv.worker", options=rr)
    await two.register(lambda: "two", "com.adv.worker", options=rr)
    got = [await call("com.adv.worker") for _ in range(4)]
    check(got == ["one", "two", "one", "two"], f"roundrobin shared registration ({got})")
    try:
        await asyncio.wait_for(caller.register(lambda: 0, "com.adv.worker", options=RegisterOptions(invoke="random")), TIMEOUT)
        check(False, "mixing invocation policies is refused")
    except ApplicationError as e:
        check(
            e.error == ApplicationError.PROCEDURE_EXISTS_INVOCATION_POLICY_CONFLICT,
            "mixing invocation policies is refused with Autobahn's policy-conflict URI",
        )

    # --- Caller identification (the test's router discloses callers by policy) ---
    who = RegisterOptions(details_arg="details")
    await one.register(lambda details=None: [details.caller, details.caller_authrole], "com.adv.whoami", options=who)
    check(await call("com.adv.whoami") == [d_caller.session, "anonymous"], "caller identification")

    # --- Call timeout enforced by the router, and call cancelling ---
    interrupted = asyncio.Queue()

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            interrupted.put_nowait(True)
            raise
        return "finished"

    await two.register(slow, "com.adv.slow")
    try:
        await call("com.adv.slow", options=CallOptions(timeout=200))
        check(False, "router-enforced timeout")
    except ApplicationError as e:
        check(e.error == "wamp.error.timeout", f"router-enforced timeout ({e.error})")
    check(await asyncio.wait_for(interrupted.get(), TIMEOUT), "the timed-out callee is interrupted")
    pending = asyncio.ensure_future(caller.call("com.adv.slow"))
    await asyncio.sleep(0.2)
    pending.cancel()
    check(await asyncio.wait_for(interrupted.get(), TIMEOUT), "a canceled call interrupts the callee")

    # --- Pattern subscriptions, identification, listing, retention ---
    events = asyncio.Queue()
    on_event = lambda *a, details=None: events.put_nowait((list(a), details))
    await one.subscribe(on_event, "com.adv.sensor.", options=SubscribeOptions(match="prefix", details_arg="details"))
    await caller.publish("com.adv.sensor.kitchen", 21, options=PublishOptions(acknowledge=True))
    args, details = await asyncio.wait_for(events.get(), TIMEOUT)
    check(args == [21] and details.topic == "com.adv.sensor.kitchen", "prefix subscription with details.topic")
    check(details.publisher == d_caller.session, "publisher identification")
    await caller.publish("com.adv.sensor.a", 1, options=PublishOptions(acknowledge=True, exclude=[d_one.session]))
    await caller.publish("com.adv.sensor.b", 2, options=PublishOptions(acknowledge=True, eligible=[d_one.session]))
    args, _ = await asyncio.wait_for(events.get(), TIMEOUT)
    check(args == [2], "exclude and eligible lists")

    await caller.publish("com.adv.state", "on", options=PublishOptions(acknowledge=True, retain=True))
    retained = asyncio.Queue()
    await two.subscribe(
        lambda *a, details=None: retained.put_nowait((list(a), details)),
        "com.adv.state",
        options=SubscribeOptions(get_retained=True, details_arg="details"),
    )
    args, details = await asyncio.wait_for(retained.get(), TIMEOUT)
    check(args == ["on"], "event retention")

    for s in (one, two, caller):
        await s.leave()
    print("ALL OK", ser_name, flush=True)


if __name__ == "__main__":
    url, realm, ser_name = sys.argv[1:4]
    asyncio.run(asyncio.wait_for(main(url, realm, ser_name), 60))
