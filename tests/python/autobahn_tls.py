"""Autobahn|Python over TLS to our router: wss:// and RawSocket tcps://, trusting the
test's self-signed certificate; it calls com.tls.echo (registered by the Rust test) and
prints "ALL OK".

Usage: autobahn_tls.py URL CAFILE SERIALIZER
"""

import asyncio
import ssl
import sys

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


async def main(url, cafile, ser_name):
    context = ssl.create_default_context(cafile=cafile)
    session, details = await connect(url, "realm1", SERIALIZERS[ser_name], ssl=context)
    echoed = await asyncio.wait_for(session.call("com.tls.echo", "over TLS"), TIMEOUT)
    check(echoed == "over TLS", f"call over {url.split(':')[0]} ({echoed!r})")
    session.leave()
    print("ALL OK", url.split(":")[0], ser_name, flush=True)


if __name__ == "__main__":
    url, cafile, ser_name = sys.argv[1:4]
    asyncio.run(asyncio.wait_for(main(url, cafile, ser_name), 60))
