"""The shared shape of the RAM, vCPU and disk filters.

A candidate passes when its room (allocation ratio applied; for a cell, the
most any one host below it has free) covers what the flavor asks of one
resource.
"""

from __future__ import annotations

from typing import ClassVar

from bestmatch.api import HostState, RequestSpec, Verdict


class ResourceFilter:
    name: str
    resource: ClassVar[str]  # a field of model.compute.Resources
    unit: ClassVar[str]

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        room = getattr(candidate.room, self.resource)
        wanted = getattr(spec.flavor, self.resource)
        if room >= wanted:
            return Verdict.ok()
        return Verdict.reject(self.name, f"{room} {self.unit} free, {wanted} {self.unit} asked")
