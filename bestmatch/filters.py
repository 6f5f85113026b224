"""Standard filters. Each answers one candidate; cheap checks come first."""

from __future__ import annotations

from bestmatch.api import HostState, RequestSpec, Verdict

ALIVE = "alive"
RAM = "ram"
VCPU = "vcpu"
DISK = "disk"


class AliveFilter:
    name = ALIVE

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        return Verdict.ok() if candidate.alive else Verdict.reject(ALIVE, "down")


class RamFilter:
    name = RAM

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        room = candidate.room.memory_mb
        if room >= spec.flavor.memory_mb:
            return Verdict.ok()
        return Verdict.reject(RAM, f"{room} MB free, {spec.flavor.memory_mb} MB asked")


class VcpuFilter:
    name = VCPU

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        room = candidate.room.vcpus
        if room >= spec.flavor.vcpus:
            return Verdict.ok()
        return Verdict.reject(VCPU, f"{room} vCPUs free, {spec.flavor.vcpus} asked")


class DiskFilter:
    name = DISK

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        room = candidate.room.disk_gb
        if room >= spec.flavor.disk_gb:
            return Verdict.ok()
        return Verdict.reject(DISK, f"{room} GB free, {spec.flavor.disk_gb} GB asked")


def default_filters() -> list[AliveFilter | RamFilter | VcpuFilter | DiskFilter]:
    """The filters every selector applies unless configured otherwise."""
    return [AliveFilter(), RamFilter(), VcpuFilter(), DiskFilter()]
