"""The event loop a cell or the API runs on: uvloop where it is installed,
else asyncio's.

uvloop (libuv under asyncio's API) costs less CPU per routed hop in a cell
process (the routing benchmark measures both). It is a dependency wherever
it builds (CPython on Linux and macOS); elsewhere, or with
CELLROUTER_EVENT_LOOP=asyncio, a cell runs on the standard loop, with the
same behaviour.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _uvloop() -> Any:
    if os.environ.get("CELLROUTER_EVENT_LOOP", "") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def name() -> str:
    """"uvloop" or "asyncio": what `run` and `new` use here."""
    return "uvloop" if _uvloop() is not None else "asyncio"


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a new loop, as asyncio.run does."""
    uvloop = _uvloop()
    if uvloop is None:
        return asyncio.run(main)
    result: T = uvloop.run(main)
    return result


def new() -> asyncio.AbstractEventLoop:
    """A new loop, for a thread of its own (an embedded cell)."""
    uvloop = _uvloop()
    if uvloop is None:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
