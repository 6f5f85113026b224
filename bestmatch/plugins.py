"""Loading selectors by name from the `cellrouter.selectors` entry point group."""

from __future__ import annotations

from importlib.metadata import entry_points

from bestmatch.api import Selector
from bestmatch.errors import PluginNotFound

GROUP = "cellrouter.selectors"


def load_selector(name: str) -> Selector:
    """A new selector registered under `name`; PluginNotFound lists the known ones."""
    found = entry_points(group=GROUP, name=name)
    if not found:
        known = sorted(ep.name for ep in entry_points(group=GROUP))
        raise PluginNotFound(f"no selector named {name!r} (installed: {', '.join(known)})")
    factory = next(iter(found)).load()
    selector: Selector = factory()
    return selector
