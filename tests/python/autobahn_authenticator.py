"""A dynamic authenticator written as Crossbar.io users write them: an Autobahn|Python
session that registers com.example.authenticate(realm, authid, details) and answers with
the principal, or raises to refuse. The Rust test points a listener at it.

Usage: autobahn_authenticator.py URL REALM SERIALIZER
Prints "READY" once registered, then serves until killed.
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError

from autobahn_basic import SERIALIZERS, connect

USERS = {"py-alice": ("ticket", "py-ticket", "user"), "py-joe": ("wampcra", "py-secret", "admin")}


async def main(url, realm, ser_name):
    session, _ = await connect(url, realm, SERIALIZERS[ser_name])

    def authenticate(realm, authid, details):
        method, secret, role = USERS.get(authid, (None, None, None))
        if method != details.get("authmethod"):
            raise ApplicationError("wamp.error.not_authorized", f"no {details.get('authmethod')} user {authid}")
        if method == "ticket":
            if details.get("ticket") != secret:
                raise ApplicationError("wamp.error.not_authorized", "wrong ticket")
            return {"role": role, "extra": {"checked_by": "python"}}
        return {"role": role, "secret": secret}

    await session.register(authenticate, "com.example.authenticate")
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    url, realm, ser_name = sys.argv[1:4]
    asyncio.run(main(url, realm, ser_name))
