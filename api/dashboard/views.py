"""What the dashboard's page is sent: the tree and instances as plain JSON.

A cell is sent with what its box shows: health, capacity as used/total
pairs, instances by state, the flavors that still fit, the actions its
leaves cannot do, its hosts and driver (leaves) and its processes. Nothing here calls
anything: these are pure functions of the model, tested alone.
"""

from __future__ import annotations

from typing import Any

from model.cells import CellCapacity, CellNode, HostSummary, Placement
from model.compute import Instance


def capacity(c: CellCapacity) -> dict[str, Any]:
    return {
        "vcpus": [c.used.vcpus, c.total.vcpus],
        "ram_mb": [c.used.memory_mb, c.total.memory_mb],
        "disk_gb": [c.used.disk_gb, c.total.disk_gb],
        "hosts": [c.hosts_up, c.hosts],
        "instances": c.instances,
        "states": dict(c.states),
        "fits": dict(c.flavor_fits),
        # agents taking service objects, by "KIND/" and "KIND/CAPABILITY"
        "agents": dict(c.agents),
    }


def host(h: HostSummary) -> dict[str, Any]:
    return {"name": h.name, "up": h.capacity.hosts_up > 0, "capacity": capacity(h.capacity)}


def cell(node: CellNode) -> dict[str, Any]:
    """One cell and its subtree; `cells` counts the cells below it (the page
    shows the count on a collapsed subtree)."""
    children = [cell(child) for child in node.children]
    return {
        "name": node.name,
        "path": node.path,
        "kind": node.kind.value,
        "driver": node.driver,  # a leaf's ("libvirt", "ovirt", "fake", "agents"); "" else
        "health": node.health,
        "address": node.address,
        # Processes heard from lately are sent alike, so the tree's JSON stays
        # the same while nothing changes (the page redraws only what changed).
        "processes": [{"address": r.address, "standby": r.standby,
                       "silent_s": int(r.heard_ago) if r.silent else 0}
                      for r in node.replicas],
        "capacity": capacity(node.capacity),
        "cannot": [a.value for a in node.cannot],
        "hosts": [host(h) for h in node.hosts],
        "children": children,
        "cells": sum(1 + child["cells"] for child in children),
    }


def instance(i: Instance) -> dict[str, Any]:
    return {
        "uuid": i.uuid,
        "name": i.name,
        "state": i.state.value,
        "project": i.project,
        "cell_path": i.cell_path,
        "host": i.host,
        "flavor": {"vcpus": i.flavor.vcpus, "ram_mb": i.flavor.memory_mb,
                   "disk_gb": i.flavor.disk_gb},
        "created_at": i.created_at.isoformat() if i.created_at else None,
    }


def placement(p: Placement) -> dict[str, Any]:
    return {"ranked": [{"cell_path": o.cell_path, "host": o.host} for o in p.ranked],
            "explanations": list(p.explanations), "refused": ""}


def refused(message: str) -> dict[str, Any]:
    """A dry run that nothing could take: no ranking, and the tree's reasons."""
    return {"ranked": [], "explanations": [], "refused": message}
