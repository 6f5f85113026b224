"""Standard filters, one per module. Each answers one candidate.

Cheap checks first: `default_filters()` is the order used when a config
names none.
"""

from __future__ import annotations

from bestmatch.api import Filter
from bestmatch.filters.alive import AliveFilter
from bestmatch.filters.disk import DiskFilter
from bestmatch.filters.ram import RamFilter
from bestmatch.filters.vcpu import VcpuFilter


def default_filters() -> list[Filter]:
    """Alive and enabled, then RAM, vCPU and disk."""
    return [AliveFilter(), RamFilter(), VcpuFilter(), DiskFilter()]
