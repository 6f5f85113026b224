"""Flavor bodies: one flavor, whoever keeps it, as Nova writes it.

A flavor the tree file declares and one an admin made (the API database) read
the same way: `FlavorFacts` is what a body is made from, `flavor_body` the
body at a microversion (its keys: api.compute.shapes.flavor_keys). List,
detail, show, and an admin's create answer all come from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.compute.shapes import flavor_keys, shape
from api.microversion import Version
from model.compute import Resources

SWAP_AS_INTEGER = Version(2, 75)  # before it, no swap is "" rather than 0


@dataclass(frozen=True, slots=True)
class FlavorFacts:
    """What a flavor body shows."""

    id: str
    name: str
    vcpus: int
    ram: int  # MiB
    disk: int  # GiB
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    disabled: bool = False
    description: str | None = None
    extra_specs: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def configured(cls, name: str, resources: Resources) -> FlavorFacts:
        """A flavor of the tree file's [flavors]: its id is its name."""
        return cls(name, name, resources.vcpus, resources.memory_mb, resources.disk_gb)


def flavor_body(flavor: FlavorFacts, base: str, version: Version,
                detail: bool = True) -> dict[str, Any]:
    """The flavor as a list's entry (`detail` false) or whole (detail, show, create)."""
    values = {
        "id": flavor.id, "name": flavor.name,
        "links": [{"rel": "self", "href": f"{base}/v2.1/flavors/{flavor.id}"},
                  {"rel": "bookmark", "href": f"{base}/flavors/{flavor.id}"}],
        "ram": flavor.ram, "vcpus": flavor.vcpus, "disk": flavor.disk,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
        "swap": flavor.swap if flavor.swap or version >= SWAP_AS_INTEGER else "",
        "rxtx_factor": flavor.rxtx_factor, "OS-FLV-DISABLED:disabled": flavor.disabled,
        "os-flavor-access:is_public": flavor.is_public, "description": flavor.description,
        "extra_specs": dict(flavor.extra_specs),
    }
    return shape(values, flavor_keys(version, detail))
