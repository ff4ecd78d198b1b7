"""Autobahn|Python and the example home contract (examples/src/home.rs), both ways.

Usage: autobahn_home.py URL SERIALIZER

1. On realm2, implements the contract in Python: com.example.home.read(room, unit=None)
   answering keyword results, the wildcard com.example.home.light..switch (the room from
   the URI called), com.example.home.unlock raising wamp.error.not_authorized; prints
   "READY <session id>" for the Rust stub to call it.
2. On realm1, calls the Rust implementation the same way and checks every answer; prints
   "ALL OK <serializer>".
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallDetails, CallResult, RegisterOptions

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


async def serve(url, ser):
    session, details = await connect(url, "realm2", ser)

    def read(room, unit=None):
        if room != "kitchen":
            raise ApplicationError("com.example.home.no_such_room", room)
        unit = unit or "C"
        return CallResult(room=room, temperature=70.7 if unit == "F" else 21.5, unit=unit)

    def switch(on, details=None):
        room = details.procedure.split(".")[4]
        return on and room == "hall"

    def unlock():
        raise ApplicationError("wamp.error.not_authorized", "not from Python either")

    await session.register(read, "com.example.home.read")
    await session.register(
        switch,
        "com.example.home.light..switch",
        options=RegisterOptions(match="wildcard", details_arg="details"),
    )
    await session.register(unlock, "com.example.home.unlock")
    return details.session


async def main(url, ser_name):
    ser = SERIALIZERS[ser_name]
    served = await serve(url, ser)
    print("READY", served, flush=True)

    session, _ = await connect(url, "realm1", ser)
    call = lambda *a, **k: asyncio.wait_for(session.call(*a, **k), TIMEOUT)
    res = await call("com.example.home.read", room="kitchen", unit="F")
    check(isinstance(res, CallResult), "read answers keyword results")
    check(res.kwresults == {"room": "kitchen", "temperature": 70.7, "unit": "F"}, "read F")
    res = await call("com.example.home.read", room="hall")
    check(res.kwresults["unit"] == "C", "unit left out: Celsius")
    check(await call("com.example.home.light.hall.switch", True) is True, "switch by URI")
    for procedure, args, kwargs, uri in [
        ("com.example.home.unlock", (), {}, "wamp.error.not_authorized"),
        ("com.example.home.read", (), {"room": "cellar"}, "com.example.home.no_such_room"),
        ("com.example.home.light.cellar.switch", (True,), {}, "com.example.home.no_such_room"),
        ("com.example.home.read", ("kitchen",), {}, "wamp.error.invalid_argument"),
    ]:
        try:
            await call(procedure, *args, **kwargs)
            check(False, f"{procedure} refused")
        except ApplicationError as e:
            check(e.error == uri, f"{procedure} gives {uri}")
    print("ALL OK", ser_name, flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
