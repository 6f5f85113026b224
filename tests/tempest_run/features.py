"""Tempest's [compute-feature-enabled] flags, as the running API answers them.

A flag that stands for server actions is on when the API builds every one of
them (api.compute.actions.SUPPORTED; as in Nova, an action Nova has but the
API does not build answers 404 for a server that does not exist and 409 for
one that does, so an HTTP probe cannot tell them apart). The running API is
checked against that table: each action of a flag that is on is sent, with
Nova's body, for a server that does not exist and must answer 404, and a
made-up action must answer 400.

The other flags are about what no server action shows (a metadata service,
block storage, consoles over other routes): they stay off, each with why,
until the API has it and this table is changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

import requests

from api.compute.actions import SUPPORTED

# Flag -> the actions it needs, with Nova's bodies.
ACTIONS: dict[str, dict[str, Any]] = {
    "pause": {"pause": None, "unpause": None},
    "suspend": {"suspend": None, "resume": None},
    "resize": {"resize": {"flavorRef": "FLAVOR"}, "confirmResize": None, "revertResize": None},
    "cold_migration": {"migrate": None},
    "live_migration": {"os-migrateLive": {"host": None, "block_migration": "auto"}},
    "rescue": {"rescue": {}, "unrescue": None},
    "shelve": {"shelve": None, "unshelve": None},
    "change_password": {"changePassword": {"adminPass": "probe-password"}},
    "console_output": {"os-getConsoleOutput": {"length": 10}},
    "snapshot": {"createImage": {"name": "probe"}},
    "vnc_console": {"os-getVNCConsole": {"type": "novnc"}},
    "spice_console": {"os-getSPICEConsole": {"type": "spice-html5"}},
    "serial_console": {"os-getSerialConsole": {"type": "serial"}},
}

# Flags off whatever the probe finds, and why: those no action probe can answer,
# and shelve, whose Tempest tests look for the snapshot image Nova's shelve makes.
OFF = {
    "disk_config": "a server's OS-DCF:diskConfig is always MANUAL; AUTO is not kept",
    "enable_instance_password": "no guest password is set (a create answers without adminPass)",
    "interface_attach": "no os-interface, and no Neutron",
    "metadata_service": "no metadata service",
    "config_drive": "no config drive",
    "personality": "no personality files (Nova dropped them at 2.57)",
    "attach_encrypted_volume": "no block storage",
    "swap_volume": "no block storage",
    "volume_multiattach": "no block storage",
    "volume_backed_live_migration": "no block storage",
    "ide_bus": "no block storage to attach",
    "block_migration_for_live_migration": "no live migration",
    "live_migrate_back_and_forth": "no live migration",
    "shelve": "shelving keeps no snapshot image",
    "shelve_migrate": "no shelve offload to another host",
    "stable_rescue": "no rescue with stable devices",
    "hostname_fqdn_sanitization": "hostnames are not derived from names",
    "unified_limits": "no unified limits (Keystone limits)",
}

# The tree's filters (entry points of cellrouter.filters) by the names Nova
# gives the same filters, which Tempest's scheduler_enabled_filters lists.
NOVA_FILTERS = {
    "alive": "ComputeFilter",
    "ram": "RamFilter",
    "disk": "DiskFilter",
    "availability_zone": "AvailabilityZoneFilter",
    "aggregate": "AggregateInstanceExtraSpecsFilter",
    "affinity": "ServerGroupAffinityFilter",
    "anti_affinity": "ServerGroupAntiAffinityFilter",
    "same_host": "SameHostFilter",
    "different_host": "DifferentHostFilter",
}


def probe(compute_url: str, token: str, flavor: str) -> dict[str, bool]:
    """Every flag: the action flags as the API at `compute_url` answers, the rest
    off (`flavor`: a flavor id to resize to)."""
    nowhere = f"{compute_url}/servers/{uuid.uuid4()}/action"

    def answer(name: str, args: Any) -> int:
        if args == {"flavorRef": "FLAVOR"}:
            args = {"flavorRef": flavor}
        return requests.post(nowhere, json={name: args}, timeout=10,
                             headers={"X-Auth-Token": token}).status_code

    if answer("cellrouter-probe-no-such-action", None) != 400:
        raise RuntimeError("the API did not answer 400 to a made-up action")
    flags = {flag: all(name in SUPPORTED for name in acts) for flag, acts in ACTIONS.items()}
    for flag in (f for f, on in flags.items() if on):
        for name, args in ACTIONS[flag].items():
            if answer(name, args) != 404:
                raise RuntimeError(f"the API does not serve {name}, which it lists as built")
    return flags | dict.fromkeys(OFF, False)


def network_extensions(networking_url: str, token: str) -> tuple[str, ...]:
    """The aliases the Networking API lists: Tempest's api_extensions."""
    answer = requests.get(f"{networking_url}/extensions", timeout=10,
                          headers={"X-Auth-Token": token})
    answer.raise_for_status()
    return tuple(sorted(e["alias"] for e in answer.json()["extensions"]))


def scheduler_filters(configured: Sequence[str]) -> tuple[str, ...]:
    """Nova's names of the filters the tree's leaves are configured with
    (`configured`, each a registered plugin of cellrouter.filters)."""
    registered = {ep.name for ep in entry_points(group="cellrouter.filters")}
    unknown = set(configured) - registered
    if unknown:
        raise RuntimeError(f"filters configured but not registered: {sorted(unknown)}")
    return tuple(sorted(NOVA_FILTERS[name] for name in configured if name in NOVA_FILTERS))


def why_off(flags: Mapping[str, bool]) -> dict[str, str]:
    """The flags that are off, each with why."""
    return {flag: OFF[flag] if flag in OFF else "the API does not know "
            + ", ".join(ACTIONS[flag]) for flag, on in sorted(flags.items()) if not on}
