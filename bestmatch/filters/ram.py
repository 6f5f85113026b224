"""Only candidates with room for the flavor's memory (allocation ratio applied)."""

from __future__ import annotations

from bestmatch.api import RAM
from bestmatch.filters.resource import ResourceFilter


class RamFilter(ResourceFilter):
    name = RAM
    resource = "memory_mb"
    unit = "MB"
