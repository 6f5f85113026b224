"""What a server create must pass in the API before the tree sees it: the
project's quota (instances, cores, RAM: api.compute.quotas) and the keypair
it names (`key_name`, the caller's own). Admitted, it boots as many servers
as the quota granted, each with its key name among its attributes (kept with
the instance at its leaf, as Nova keeps it on the instance); each server made
settles its reservation; what was not made is released when the create ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from api.compute import quotas
from api.compute.boot import Boots
from api.db.database import ApiDatabase
from api.db.quotas import Usage
from api.errors import BadRequest
from api.state import database, who
from model.compute import BootSpec, Instance


@dataclass
class Admission:
    """Room for `count` servers, by reservation, and the key they boot with."""

    db: ApiDatabase
    reservations: list[str]
    key_name: str | None
    _settled: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.reservations)

    def keyed(self, specs: Sequence[BootSpec]) -> list[BootSpec]:
        """`specs` with the key name in their attributes ("": booted without one)."""
        return [replace(s, attributes=replace(s.attributes, key_name=self.key_name or ""))
                for s in specs]

    def booted(self, n: int, instance: Instance) -> None:
        """The `n`th boot (from 0) made `instance`."""
        self.db.quotas.settle(self.reservations[n], instance.uuid)
        self._settled.add(self.reservations[n])

    def close(self) -> None:
        """Release what no boot used."""
        self.db.quotas.release([r for r in self.reservations if r not in self._settled])


async def admit(request: web.Request, body: dict[str, Any], boots: Boots) -> Admission:
    """403 over quota (Nova's message), 400 for a key name the caller has not."""
    db, user = database(request), who(request).user_id
    key_name = _key_name(db, user, body.get("server", {}).get("key_name"))
    flavor = boots.specs[0].flavor
    each = Usage(1, flavor.vcpus, flavor.memory_mb)
    granted = await quotas.reserve(request, each, boots.min_count, len(boots.specs))
    return Admission(db, granted, key_name)


def _key_name(db: ApiDatabase, user: str, name: Any) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or db.keypairs.get(user, name) is None:
        raise BadRequest("Invalid key_name provided.")
    return name
