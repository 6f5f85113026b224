"""Building a selector from configuration, through entry points.

Three entry point groups, declared in pyproject.toml by cellrouter and by any
installed plugin package:

    cellrouter.selectors   factory(filters=[...], weighers=[(w, mult)], sampling=..., **options)
    cellrouter.filters     factory(**options) -> Filter
    cellrouter.weighers    factory(**options) -> Weigher

The configuration names them in order; nothing is discovered by scanning
directories. A name that is not installed, configured twice, or installed by
two packages is a PluginError at startup, naming what is available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from bestmatch.api import Filter, Selector, Weigher
from bestmatch.errors import BadPluginOptions, DuplicatePlugin, PluginNotFound
from bestmatch.pipeline import Sampling

SELECTORS = "cellrouter.selectors"
FILTERS = "cellrouter.filters"
WEIGHERS = "cellrouter.weighers"
GROUPS = (SELECTORS, FILTERS, WEIGHERS)


@dataclass(frozen=True, slots=True)
class SelectionConfig:
    """The [selection] table of a cell's config."""

    selector: str = "random"
    filters: tuple[str, ...] | None = None  # None: the selector's defaults
    weighers: tuple[tuple[str, float], ...] = ()
    sampling: Sampling | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per plugin name
    selector_options: Mapping[str, Any] = field(default_factory=dict)


def installed(group: str) -> dict[str, EntryPoint]:
    """Installed plugins of `group` by name; DuplicatePlugin if two share a name."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        if ep.name in found and found[ep.name].value != ep.value:
            raise DuplicatePlugin(
                f"two installed packages register {group} plugin {ep.name!r}:"
                f" {found[ep.name].value} and {ep.value}"
            )
        found[ep.name] = ep
    return found


def _load(group: str, name: str, options: Mapping[str, Any], **extra: Any) -> Any:
    plugins = installed(group)
    if name not in plugins:
        known = ", ".join(sorted(plugins)) or "none"
        raise PluginNotFound(f"no {group} plugin named {name!r} (installed: {known})")
    try:
        factory = plugins[name].load()
    except (ImportError, AttributeError) as exc:
        raise PluginNotFound(
            f"{group} plugin {name!r} is registered but cannot be loaded: {exc}"
        ) from exc
    try:
        return factory(**extra, **options)
    except (TypeError, ValueError) as exc:
        raise BadPluginOptions(f"{group} plugin {name!r} refused its options: {exc}") from exc


def _no_twice(names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DuplicatePlugin(f"{what} {name!r} is configured twice")
        seen.add(name)


def load_filters(names: Sequence[str], options: Mapping[str, Mapping[str, Any]]) -> list[Filter]:
    """The installed filters `names`, in order, each made with its options."""
    _no_twice(names, "filter")
    return [_load(FILTERS, n, options.get(n, {})) for n in names]


def build_selector(config: SelectionConfig) -> Selector:
    """The selector `config` describes, with its filters and weighers, in order."""
    filters: list[Filter] | None = None
    if config.filters is not None:
        filters = load_filters(config.filters, config.options)
    _no_twice([n for n, _ in config.weighers], "weigher")
    weighers: list[tuple[Weigher, float]] = [
        (_load(WEIGHERS, n, config.options.get(n, {})), multiplier)
        for n, multiplier in config.weighers
    ]
    extra: dict[str, Any] = {"filters": filters, "sampling": config.sampling}
    if weighers:
        extra["weighers"] = weighers
    selector: Selector = _load(SELECTORS, config.selector, config.selector_options, **extra)
    return selector


def load_selector(name: str) -> Selector:
    """The selector `name` with its default filters and no weighers."""
    return build_selector(SelectionConfig(selector=name))
