"""Autobahn|Python as a reflection client of our router: lists and describes what the
Rust services registered, watches descriptions come, and calls a procedure from its
description alone.

Usage: autobahn_reflection.py URL SERIALIZER

The calculator (examples/src/lib.rs) is registered before this starts. The script checks
the reflection API's answers, subscribes to wamp.reflect.on_define and prints
"WATCHING"; the Rust side then registers the home service, whose definitions the script
must see; it prints "ALL OK <serializer>".
"""

import asyncio
import sys

from autobahn.wamp.exception import ApplicationError

from autobahn_basic import SERIALIZERS, TIMEOUT, check, connect


def arguments_for(procedure, values):
    """The args and kwargs of a call to `procedure` (a description) with `values` by
    parameter name, as its description says they travel."""
    args = [values[p["name"]] for p in procedure["args"]]
    kwargs = {p["name"]: values[p["name"]] for p in procedure["kwargs"] if p["name"] in values}
    return args, kwargs


async def main(url, ser_name):
    session, _ = await connect(url, "realm1", SERIALIZERS[ser_name])
    call = lambda *a, **k: asyncio.wait_for(session.call(*a, **k), TIMEOUT)

    procedures = await call("wamp.reflection.procedure.list")
    check(isinstance(procedures, list), "the list is a list")
    check("com.example.calc.add" in procedures, f"add listed: {procedures}")
    add = await call("wamp.reflection.procedure.describe", "com.example.calc.add")
    check(add["interface"] == "Calculator", "the interface named")
    check([p["name"] for p in add["args"]] == ["a", "b"], f"add's parameters: {add['args']}")
    check(add["args"][0]["schema"]["type"] == "integer", "a is an integer")
    check(add["result"]["shape"] == "value", "one result")
    check("com.example.calc.overflow" in add["errors"], "add's errors")

    # A call made from the description alone.
    args, kwargs = arguments_for(add, {"a": 20, "b": 22})
    check(await call(add["uri"], *args, **kwargs) == 42, "add called from its description")

    overflow = await call("wamp.reflection.error.describe", "com.example.calc.overflow")
    check(overflow["kwargs"][0]["name"] == "limit", f"the error's fields: {overflow}")
    try:
        await call("wamp.reflection.procedure.describe", "com.example.nothing")
        check(False, "an unknown procedure is an error")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_procedure", f"unknown procedure: {e.error}")

    seen = asyncio.Queue()

    def on_define(uri, type=None):
        seen.put_nowait((type, uri))

    await session.subscribe(on_define, "wamp.reflect.on_define")
    print("WATCHING", flush=True)
    defined = set()
    while ("topic", "com.example.sensor.{room}.temperature") not in defined:
        defined.add(await asyncio.wait_for(seen.get(), TIMEOUT))
    check(("procedure", "com.example.home.read") in defined, f"home defined: {defined}")
    switch = await call(
        "wamp.reflection.procedure.describe", "com.example.home.light.kitchen.switch"
    )
    check(switch["placeholders"][0]["name"] == "room", "a pattern by a concrete URI")
    topic = await call("wamp.reflection.topic.describe", "com.example.sensor.{room}.temperature")
    check(topic["payload"]["schema"]["$ref"] == "#/$defs/Temperature", "the payload's type")
    check("celsius" in topic["$defs"]["Temperature"]["properties"], "its fields")
    await session.leave()
    print("ALL OK", ser_name, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
