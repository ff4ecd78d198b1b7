"""A dynamic authorizer written as Crossbar.io users write them: an Autobahn|Python
session that registers com.example.authorize(details, uri, action, options) and answers
a bool or {allow, disclose, cache}. The Rust test gives role "frontend" to it.

What it decides:
  com.app.public.*     call, subscribe: allowed, cached
  com.app.news         publish: allowed and disclosed (not cached); subscribe: allowed
  com.app.secret       anything: denied
  com.app.slow         sleeps past the router's timeout
  com.app.broken       raises
It also registers com.example.asked(uri, action): how often it was asked.

Usage: autobahn_authorizer.py URL REALM SERIALIZER
Prints "READY" once registered, then serves until killed.
"""

import asyncio
import sys
from collections import Counter

from autobahn.wamp.exception import ApplicationError

from autobahn_basic import SERIALIZERS, connect


async def main(url, realm, ser_name):
    session, _ = await connect(url, realm, SERIALIZERS[ser_name])
    asked = Counter()

    async def authorize(details, uri, action, options):
        asked[(uri, action)] += 1
        assert details["authrole"] == "frontend" and isinstance(details["session"], int), details
        assert isinstance(options, dict), options
        if uri.startswith("com.app.public."):
            return {"allow": True, "cache": True}
        if uri == "com.app.news":
            return {"allow": True, "disclose": action == "publish"}
        if uri == "com.app.slow":
            await asyncio.sleep(30)
            return True
        if uri == "com.app.broken":
            raise ApplicationError("com.example.oops", "the authorizer broke")
        return False

    await session.register(authorize, "com.example.authorize")
    await session.register(lambda uri, action: asked[(uri, action)], "com.example.asked")
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    url, realm, ser_name = sys.argv[1:4]
    asyncio.run(main(url, realm, ser_name))
