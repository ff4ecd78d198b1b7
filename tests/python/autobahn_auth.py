"""Authentication interoperability: Autobahn|Python joins our router with ticket,
WAMP-CRA, salted WAMP-CRA, WAMP-Cryptosign and WAMP-SCRAM (`AuthScram`, Crossbar.io's
`scram` with argon2id-13; principals alice, joe, peter, device and sue of
tests/tests/auth.rs), checks the router's SCRAM signature, and is refused with a wrong
secret or an unknown key.

Usage: autobahn_auth.py URL REALM SERIALIZER DEVICE_SEED_HEX
"""

import asyncio
import sys
from urllib.parse import urlparse

from autobahn.asyncio.wamp import ApplicationSession, ApplicationSessionFactory
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp import auth
from autobahn.wamp.cryptosign import CryptosignKey
from autobahn.wamp.types import ComponentConfig

from autobahn_basic import SERIALIZERS, TIMEOUT, check


async def run(url, realm, serializer, session_class, outcome):
    """Connects a session of `session_class` and waits for the outcome it sets."""
    loop = asyncio.get_running_loop()
    factory = ApplicationSessionFactory(ComponentConfig(realm=realm))
    factory.session = session_class
    transport = WampWebSocketClientFactory(factory, url=url, serializers=[serializer()])
    u = urlparse(url)
    await asyncio.wait_for(loop.create_connection(transport, u.hostname, u.port), TIMEOUT)
    return await asyncio.wait_for(outcome, TIMEOUT)


async def join(url, realm, serializer, authid, method, secret):
    loop = asyncio.get_running_loop()
    outcome = loop.create_future()

    class Session(ApplicationSession):
        def onConnect(self):
            if method == "cryptosign":
                extra = {"pubkey": secret.public_key()}
                self.join(realm, authmethods=[method], authid=authid, authextra=extra)
            else:
                self.join(realm, authmethods=[method], authid=authid)

        def onChallenge(self, challenge):
            if challenge.method == "ticket":
                return secret
            if challenge.method == "cryptosign":
                return secret.sign_challenge(challenge)
            key = secret
            if "salt" in challenge.extra:
                key = auth.derive_key(
                    secret, challenge.extra["salt"], challenge.extra["iterations"], challenge.extra["keylen"]
                )
            return auth.compute_wcs(key, challenge.extra["challenge"]).decode()

        async def onJoin(self, details):
            if not outcome.done():
                outcome.set_result(("joined", details.authid, details.authrole, details.authmethod))
            await self.leave()

        def onLeave(self, details):
            if not outcome.done():
                outcome.set_result(("refused", details.reason))
            self.disconnect()

    return await run(url, realm, serializer, Session, outcome)


async def join_scram(url, realm, serializer, authid, password):
    loop = asyncio.get_running_loop()
    outcome = loop.create_future()
    scram = auth.AuthScram(authid=authid, password=password)

    class Session(ApplicationSession):
        def onConnect(self):
            self.join(realm, authmethods=["scram"], authid=authid, authextra=scram.authextra)

        def onChallenge(self, challenge):
            return scram.on_challenge(self, challenge).decode()

        async def onJoin(self, details):
            # Autobahn's own check of WELCOME's scram_server_signature: None is good.
            verdict = scram.on_welcome(self, details.authextra)
            if not outcome.done():
                outcome.set_result(("joined", details.authid, details.authmethod, verdict))
            await self.leave()

        def onLeave(self, details):
            if not outcome.done():
                outcome.set_result(("refused", details.reason))
            self.disconnect()

    return await run(url, realm, serializer, Session, outcome)


async def main(url, realm, ser_name, seed):
    ser = SERIALIZERS[ser_name]
    device = CryptosignKey.from_bytes(bytes.fromhex(seed))
    got = await join(url, realm, ser, "device", "cryptosign", device)
    check(got == ("joined", "device", "sensor", "cryptosign"), f"cryptosign ({got})")
    got = await join(url, realm, ser, None, "cryptosign", device)
    check(got == ("joined", "device", "sensor", "cryptosign"), f"cryptosign, no authid ({got})")
    stranger = CryptosignKey.from_bytes(bytes(range(32)))
    got = await join(url, realm, ser, None, "cryptosign", stranger)
    check(got == ("refused", "wamp.error.not_authorized"), f"unknown key refused ({got})")
    got = await join(url, realm, ser, "alice", "ticket", "alice's ticket")
    check(got == ("joined", "alice", "user", "ticket"), f"ticket ({got})")
    got = await join(url, realm, ser, "joe", "wampcra", "secret1")
    check(got == ("joined", "joe", "admin", "wampcra"), f"wampcra ({got})")
    got = await join(url, realm, ser, "peter", "wampcra", "secret2")
    check(got == ("joined", "peter", "user", "wampcra"), f"salted wampcra ({got})")
    got = await join_scram(url, realm, ser, "sue", "sue-password")
    check(got == ("joined", "sue", "scram", None), f"scram, and the router's signature checks out ({got})")
    got = await join_scram(url, realm, ser, "sue", "wrong")
    check(got == ("refused", "wamp.error.authentication_failed"), f"scram with a wrong password refused ({got})")
    got = await join(url, realm, ser, "joe", "wampcra", "wrong")
    check(got == ("refused", "wamp.error.authentication_failed"), f"wrong secret refused ({got})")
    print("ALL OK", ser_name, flush=True)


if __name__ == "__main__":
    url, realm, ser_name, seed = sys.argv[1:5]
    asyncio.run(asyncio.wait_for(main(url, realm, ser_name, seed), 60))
