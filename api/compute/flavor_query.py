"""What a flavor list asks for (GET /flavors[/detail]), read and applied as
Nova's flavors controller and FlavorList.get_all do.

    is_public       admins only: true (the default: public ones and those shared
                    with the caller's project), false (private only), none (all);
                    ignored for others, who always see public and shared ones
    minRam, minDisk at least this much RAM (MiB) / root disk (GiB)
    sort_key        flavorid (default), name, memory_mb, vcpus, root_gb, ...
    sort_dir        asc (default) or desc
    marker, limit   the page after flavor `marker`, at most `limit` (max 1000)

Each bad value is a 400 with Nova's message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.compute.flavor_views import FlavorFacts
from api.errors import BadRequest

MAX_LIMIT = 1000  # Nova's [api] max_limit
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})
_SORT_KEYS: dict[str, Callable[[FlavorFacts], Any]] = {
    "flavorid": lambda f: f.id, "id": lambda f: f.id, "created_at": lambda f: f.id,
    "updated_at": lambda f: f.id, "name": lambda f: f.name, "memory_mb": lambda f: f.ram,
    "vcpus": lambda f: f.vcpus, "root_gb": lambda f: f.disk,
    "ephemeral_gb": lambda f: f.ephemeral, "swap": lambda f: f.swap,
    "rxtx_factor": lambda f: f.rxtx_factor, "is_public": lambda f: f.is_public,
    "disabled": lambda f: f.disabled, "vcpu_weight": lambda f: 0,
    "description": lambda f: (f.description is not None, f.description or ""),
}


@dataclass(frozen=True, slots=True)
class FlavorQuery:
    is_public: bool | None = True  # None: public and private alike
    min_ram: int | None = None
    min_disk: int | None = None
    sort_key: str = "flavorid"
    descending: bool = False
    marker: str | None = None
    limit: int = MAX_LIMIT

    @classmethod
    def read(cls, params: Mapping[str, str], admin: bool) -> FlavorQuery:
        """The query of a list's parameters; BadRequest for a bad one."""
        sort_key = params.get("sort_key") or "flavorid"
        sort_dir = params.get("sort_dir") or "asc"
        if sort_key not in _SORT_KEYS:
            raise BadRequest("Sort key supplied was not valid.")
        if sort_dir not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort_dir [{sort_dir[:32]}]: use asc or desc.")
        return cls(_is_public(params.get("is_public")) if admin else True,
                   _minimum(params, "minRam"), _minimum(params, "minDisk"), sort_key,
                   sort_dir == "desc", params.get("marker"), _limit(params.get("limit")))

    def apply(self, flavors: Sequence[FlavorFacts]) -> list[FlavorFacts]:
        """The page of `flavors` (those the caller may see, public or private as
        the query asks) this query selects, in its order."""
        key = _SORT_KEYS[self.sort_key]
        ordered = sorted(flavors, key=lambda f: (key(f), f.id), reverse=self.descending)
        if self.marker is not None:
            ids = [f.id for f in ordered]
            if self.marker not in ids:
                raise BadRequest(f"marker [{self.marker[:64]}] not found")
            ordered = ordered[ids.index(self.marker) + 1:]
        kept = [f for f in ordered if (self.min_ram is None or f.ram >= self.min_ram)
                and (self.min_disk is None or f.disk >= self.min_disk)]
        return kept[:self.limit]


def _is_public(text: str | None) -> bool | None:
    if text is None:
        return True
    if text.lower() == "none":
        return None
    if text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    raise BadRequest(f"Invalid is_public filter [{text[:32]}]")


def _minimum(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{text[:32]}]") from None


def _limit(text: str | None) -> int:
    if text is None:
        return MAX_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)
