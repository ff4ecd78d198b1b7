"""Autobahn|Python against typed Rust procedures whose wire shape is declared: keyword
arguments in, keyword arguments or several positional results out, a Rust keyword as an
argument name, the spec's error; and a Python callee taking keyword arguments, called by
a Rust stub.

Usage: autobahn_wire.py URL REALM SERIALIZER

1. registers com.py.wire.lookup(name, unit=None) (returns a dict as keyword results) and
   com.py.wire.pair() (two positional results), prints "READY <session id>";
2. calls the Rust procedures com.rust.wire.*, checking every answer, and prints
   "ALL OK <serializer>".
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


async def main(url, realm, ser_name):
    session, details = await connect(url, realm, SERIALIZERS[ser_name])

    def lookup(name, unit=None):
        unit = unit or "C"
        celsius = 70.7 if unit == "F" else 21.5
        return CallResult(room=name, celsius=celsius, unit=unit)

    def pair():
        return CallResult("left", 2)

    await session.register(lookup, "com.py.wire.lookup")
    await session.register(pair, "com.py.wire.pair")
    print("READY", details.session, flush=True)

    call = lambda *a, **k: asyncio.wait_for(session.call(*a, **k), TIMEOUT)
    # A Rust keyword as a keyword argument's name.
    check(await call("com.rust.wire.kind", type="gauge") == "kind gauge", "`type` by name")
    check(await call("com.rust.wire.kind", "dial") == "kind dial", "`type` by position")
    # A renamed keyword-only argument.
    check(await call("com.rust.wire.tag", 4, label="w") == "w=4", "renamed keyword argument")
    # Keyword arguments in, keyword results out: Autobahn gives a CallResult.
    res = await call("com.rust.wire.read", room="hall", unit="K")
    check(isinstance(res, CallResult), "keyword results are a CallResult")
    check(res.kwresults == {"room": "hall", "celsius": 21.5, "unit": "K"}, "keyword results")
    check(list(res.results) == [], "no positional results")
    res = await call("com.rust.wire.read", room="den")
    check(res.kwresults["unit"] == "C", "a left-out Option")
    # Several positional results.
    res = await call("com.rust.wire.split", "abc")
    check(list(res.results) == ["ABC", 3], "several positional results")
    # Extra and unknown arguments are refused, as Python refuses them.
    for args, kwargs in [(("a", "b"), {}), ((1,), {"name": "n"})]:
        try:
            procedure = "com.rust.wire.kind" if len(args) == 2 else "com.rust.wire.tag"
            await call(procedure, *args, **kwargs)
            check(False, "extra arguments refused")
        except ApplicationError as e:
            check(e.error == "wamp.error.invalid_argument", "extras give invalid_argument")
    # The spec's error from a typed procedure.
    try:
        await call("com.rust.wire.vault")
        check(False, "the vault refuses")
    except ApplicationError as e:
        check(e.error == "wamp.error.not_authorized", "the spec's error URI")
        check(list(e.args) == ["admins only"], "the spec's error args")
    print("ALL OK", ser_name, flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
