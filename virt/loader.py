"""Creating a driver by name from the `cellrouter.drivers` entry point group.

A driver registers a factory `(options, hosts, state_dir) -> VirtDriver`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from virt.driver import VirtDriver
from virt.errors import InvalidSpec

GROUP = "cellrouter.drivers"


def load_driver(
    name: str, options: Mapping[str, Any], hosts: Sequence[Mapping[str, Any]], state_dir: Path
) -> VirtDriver:
    found = entry_points(group=GROUP, name=name)
    if not found:
        known = sorted(ep.name for ep in entry_points(group=GROUP))
        raise InvalidSpec(f"no virt driver named {name!r} (installed: {', '.join(known)})")
    factory = next(iter(found)).load()
    driver: VirtDriver = factory(options, hosts, state_dir)
    return driver
