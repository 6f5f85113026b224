"""Only candidates with room for the flavor's vCPUs (allocation ratio applied)."""

from __future__ import annotations

from bestmatch.api import VCPU
from bestmatch.filters.resource import ResourceFilter


class VcpuFilter(ResourceFilter):
    name = VCPU
    resource = "vcpus"
    unit = "vCPUs"
