"""Only candidates with room for the flavor's disk (allocation ratio applied)."""

from __future__ import annotations

from bestmatch.api import DISK
from bestmatch.filters.resource import ResourceFilter


class DiskFilter(ResourceFilter):
    name = DISK
    resource = "disk_gb"
    unit = "GB"
