"""How a leaf calls its driver: a driver that only computes (the fake one) is
called on the event loop; one that waits on a hypervisor gets a worker
thread per call (virt.driver.Capabilities.blocking). The leaf's parts
(cells.leaf_*) all call the driver through the leaf's one DriverRunner."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


class DriverRunner:
    def __init__(self, blocking: bool) -> None:
        self._blocking = blocking

    async def __call__(self, fn: Callable[..., R], *args: Any) -> R:
        """Call `fn(*args)`: in a worker thread when the driver blocks, else right here."""
        if not self._blocking:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)
