"""Quotas: Nova's os-quota-sets and limits, and the check at server create.

    GET    /v2.1/os-quota-sets/{project}[/detail|/defaults]   the project's own, or admins
    PUT    /v2.1/os-quota-sets/{project}                      admins
    DELETE /v2.1/os-quota-sets/{project}                      admins: back to the defaults
    GET    /v2.1/limits                                        absolute limits, used counts

Instances, cores and RAM in use are counted from the tree (a list of the
project's instances) plus the boots the tree may not show yet
(api.db.quotas); keypairs and server groups from the API database.
2.36 drops the network resources from the bodies, 2.57 the injected files.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from aiohttp import web

from api.db.quotas import DEFAULTS, QuotaExceeded, TreeCount, Usage
from api.errors import BadRequest, Forbidden
from api.microversion import Version
from api.state import database, json_body, metadata, state, version, who
from model.cells import ListQuery
from model.compute import InstanceState
from routing.paging import MAX_PAGE

QUOTA_NO_NETWORK = Version(2, 36)  # bodies lose the network resources
LIMITS_NO_IMAGE_META = Version(2, 39)  # limits lose maxImageMeta (the images proxy's)
QUOTA_NO_FILES = Version(2, 57)    # bodies lose the injected files
NETWORK = ("floating_ips", "fixed_ips", "security_groups", "security_group_rules")
FILES = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")


def resources(at: Version) -> list[str]:
    """The quota resources a body of microversion `at` names."""
    dropped = (NETWORK if at >= QUOTA_NO_NETWORK else ()) + (FILES if at >= QUOTA_NO_FILES
                                                              else ())
    return [name for name in DEFAULTS if name not in dropped]


def _project(request: web.Request) -> str:
    project, caller = request.match_info["project"], who(request)
    if project != caller.project and not caller.admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-quota-sets:show to be"
                        " performed.")
    return project


def _admin(request: web.Request, rule: str) -> None:
    if not who(request).admin:
        raise Forbidden(f"Policy doesn't allow os_compute_api:os-quota-sets:{rule} to be"
                        " performed.")


async def show(request: web.Request) -> web.Response:
    project = _project(request)
    limits = database(request).quotas.limits(project)
    body = {name: limits[name] for name in resources(version(request))}
    return web.json_response({"quota_set": {"id": project, **body}})


async def defaults(request: web.Request) -> web.Response:
    project, limits = request.match_info["project"], database(request).quotas.defaults()
    body = {name: limits[name] for name in resources(version(request))}
    return web.json_response({"quota_set": {"id": project, **body}})


async def detail(request: web.Request) -> web.Response:
    project = _project(request)
    limits = database(request).quotas.limits(project)
    used = (await in_use(request, project)).as_dict()
    used["key_pairs"] = database(request).keypairs.count(who(request).user_id)
    used["server_groups"] = server_groups_in_use(request, project)
    body = {name: {"limit": limits[name], "in_use": used.get(name, 0), "reserved": 0}
            for name in resources(version(request))}
    return web.json_response({"quota_set": {"id": project, **body}})


async def update(request: web.Request) -> web.Response:
    _admin(request, "update")
    project = request.match_info["project"]
    raw = (await json_body(request)).get("quota_set")
    if not isinstance(raw, dict):
        raise BadRequest("The request body must have a 'quota_set' object.")
    allowed = set(resources(version(request)))
    values: dict[str, int] = {}
    for name, value in raw.items():
        if name == "force":
            continue
        if name not in allowed:
            raise BadRequest(f"Invalid input for field/attribute quota_set. Additional"
                             f" properties are not allowed ('{name[:64]}' was unexpected)")
        values[name] = limit_of(name, value)
    limits = database(request).quotas.set_limits(project, values)
    return web.json_response({"quota_set": {name: limits[name] for name in allowed
                                            if name in limits}})


def limit_of(name: str, value: Any) -> int:
    """`value` as a limit (an integer from -1); 400 when it is not."""
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < -1 or number > 0x7FFFFFFF:
        raise BadRequest(f"Invalid input for field/attribute {name}: it must be an integer"
                         " of -1 or more.")
    return number


async def reset(request: web.Request) -> web.Response:
    _admin(request, "delete")
    database(request).quotas.reset(request.match_info["project"])
    return web.Response(status=202)


async def limits(request: web.Request) -> web.Response:
    caller = who(request)
    project = request.query.get("tenant_id", caller.project) if caller.admin else caller.project
    quota = database(request).quotas.limits(project)
    used = await in_use(request, project)
    absolute = {
        "maxTotalInstances": quota["instances"], "maxTotalCores": quota["cores"],
        "maxTotalRAMSize": quota["ram"], "maxTotalKeypairs": quota["key_pairs"],
        "maxServerMeta": quota["metadata_items"], "maxImageMeta": quota["metadata_items"],
        "maxPersonality": quota["injected_files"],
        "maxPersonalitySize": quota["injected_file_content_bytes"],
        "maxSecurityGroups": quota["security_groups"],
        "maxSecurityGroupRules": quota["security_group_rules"],
        "maxTotalFloatingIps": quota["floating_ips"], "maxServerGroups": quota["server_groups"],
        "maxServerGroupMembers": quota["server_group_members"],
        "totalInstancesUsed": used.instances, "totalCoresUsed": used.cores,
        "totalRAMUsed": used.ram, "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0,
        "totalServerGroupsUsed": server_groups_in_use(request, project),
    }
    for name in _dropped_limits(version(request)):
        absolute.pop(name)
    return web.json_response({"limits": {"absolute": absolute, "rate": []}})


def _dropped_limits(at: Version) -> list[str]:
    dropped = []
    if at >= QUOTA_NO_NETWORK:
        dropped += ["maxSecurityGroupRules", "maxSecurityGroups", "maxTotalFloatingIps",
                    "totalFloatingIpsUsed", "totalSecurityGroupsUsed"]
    if at >= LIMITS_NO_IMAGE_META:
        dropped.append("maxImageMeta")
    if at >= QUOTA_NO_FILES:
        dropped += ["maxPersonality", "maxPersonalitySize"]
    return dropped


def server_groups_in_use(request: web.Request, project: str) -> int:
    """The project's server groups (api.compute.server_groups)."""
    return database(request).server_groups.count(project)


async def tree_count(request: web.Request, project: str) -> TreeCount:
    """The project's instances in the tree, as a list begun now sees them."""
    started = time.time()
    client = state(request).tree.client
    query, total, uuids = ListQuery(limit=MAX_PAGE, project=project), Usage(), set()
    while True:
        page = await client.list(query, metadata=metadata(request))
        for instance in page.instances:
            if instance.state is not InstanceState.DELETED:
                uuids.add(instance.uuid)
                total += Usage(1, instance.flavor.vcpus, instance.flavor.memory_mb)
        if not page.next_page_token:
            return TreeCount(total, frozenset(uuids), started)
        query = replace(query, page_token=page.next_page_token)


async def in_use(request: web.Request, project: str) -> Usage:
    """Instances, cores and RAM the project uses, boots in flight included."""
    seen = await tree_count(request, project)
    return seen.usage + database(request).quotas.reserved(project, seen)


async def reserve(request: web.Request, each: Usage, low: int, high: int) -> list[str]:
    """Room for `low` to `high` servers of `each` in the caller's project (as
    many as fit); 403 with Nova's message when not even `low` fit."""
    project = who(request).project
    seen = await tree_count(request, project)
    try:
        return database(request).quotas.reserve(project, seen, each, low, high)
    except QuotaExceeded as exc:
        raise Forbidden(exc.nova_message()) from None
