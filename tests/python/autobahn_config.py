"""Autobahn|Python against a router configured by examples/router.toml: it authenticates
by ticket (alice, role frontend), salted WAMP-CRA (service, role backend) and
WAMP-Cryptosign (device-1, role frontend), is refused with wrong secrets, and as a
frontend is refused every action its role forbids (and allowed the rest).

The test registers com.example.echo and com.example.admin.reset from its own backend
session before running this.

Usage: autobahn_config.py URL SERIALIZER DEVICE_SEED_HEX
"""

import asyncio
import sys
from urllib.parse import urlparse

from autobahn.asyncio.wamp import ApplicationSession, ApplicationSessionFactory
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp import auth
from autobahn.wamp.cryptosign import CryptosignKey
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import ComponentConfig, PublishOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check

REALM = "realm1"


async def run(url, serializer, authid, method, secret, actions=None):
    """Joins with one method and runs `actions(session)`; returns what happened."""
    loop = asyncio.get_running_loop()
    outcome = loop.create_future()

    class Session(ApplicationSession):
        def onConnect(self):
            extra = {"pubkey": secret.public_key()} if method == "cryptosign" else None
            self.join(REALM, authmethods=[method], authid=authid, authextra=extra)

        def onChallenge(self, challenge):
            if challenge.method == "ticket":
                return secret
            if challenge.method == "cryptosign":
                return secret.sign_challenge(challenge)
            key = auth.derive_key(
                secret, challenge.extra["salt"], challenge.extra["iterations"], challenge.extra["keylen"]
            )
            return auth.compute_wcs(key, challenge.extra["challenge"]).decode()

        async def onJoin(self, details):
            try:
                result = await actions(self) if actions else None
                if not outcome.done():
                    outcome.set_result(("joined", details.authid, details.authrole, result))
            except Exception as e:  # reported to the test, not swallowed
                if not outcome.done():
                    outcome.set_exception(e)
            await self.leave()

        def onLeave(self, details):
            if not outcome.done():
                outcome.set_result(("refused", details.reason))
            self.disconnect()

    factory = ApplicationSessionFactory(ComponentConfig(realm=REALM))
    factory.session = Session
    transport = WampWebSocketClientFactory(factory, url=url, serializers=[serializer()])
    u = urlparse(url)
    await asyncio.wait_for(loop.create_connection(transport, u.hostname, u.port), TIMEOUT)
    return await asyncio.wait_for(outcome, TIMEOUT)


async def denied(what, action):
    try:
        await action
    except ApplicationError as e:
        check(e.error == "wamp.error.not_authorized", f"{what} is refused ({e.error})")
        return
    raise AssertionError(f"{what} was allowed")


async def as_frontend(session):
    """What role frontend may and may not do."""
    echo = await session.call("com.example.echo", "hi")
    check(echo == "hi", "frontend may call com.example.echo")
    await session.subscribe(lambda *a: None, "com.example.news")
    check(True, "frontend may subscribe to com.example.news")
    await denied("calling com.example.admin.reset", session.call("com.example.admin.reset"))
    await denied("registering com.example.mine", session.register(lambda: 1, "com.example.mine"))
    await denied(
        "publishing to com.example.news",
        session.publish("com.example.news", 1, options=PublishOptions(acknowledge=True)),
    )
    await denied("subscribing to org.other", session.subscribe(lambda *a: None, "org.other"))
    await denied("calling the meta API", session.call("wamp.session.list"))
    return "checked"


async def main(url, ser_name, seed):
    ser = SERIALIZERS[ser_name]
    device = CryptosignKey.from_bytes(bytes.fromhex(seed))

    got = await run(url, ser, "alice", "ticket", "alice-ticket", as_frontend)
    check(got == ("joined", "alice", "frontend", "checked"), f"ticket ({got})")
    got = await run(url, ser, None, "cryptosign", device, as_frontend)
    check(got == ("joined", "device-1", "frontend", "checked"), f"cryptosign ({got})")
    got = await run(url, ser, "service", "wampcra", "backend-secret")
    check(got == ("joined", "service", "backend", None), f"salted wampcra ({got})")

    got = await run(url, ser, "alice", "ticket", "wrong")
    check(got == ("refused", "wamp.error.authentication_failed"), f"wrong ticket ({got})")
    got = await run(url, ser, "service", "wampcra", "wrong")
    check(got == ("refused", "wamp.error.authentication_failed"), f"wrong wampcra secret ({got})")
    stranger = CryptosignKey.from_bytes(bytes(range(32)))
    got = await run(url, ser, None, "cryptosign", stranger)
    check(got == ("refused", "wamp.error.not_authorized"), f"unknown cryptosign key ({got})")
    print("ALL OK", ser_name, flush=True)


if __name__ == "__main__":
    url, ser_name, seed = sys.argv[1:4]
    asyncio.run(asyncio.wait_for(main(url, ser_name, seed), 60))
