"""Server groups, as Nova's os-server-groups, kept in the API database
(api.db.server_groups); a group is its project's.

    GET    /v2.1/os-server-groups        the caller's project's; admins' with
                                         all_projects every project's;
                                         limit, offset
    POST   /v2.1/os-server-groups        200; 403 over the server_groups quota
    GET    /v2.1/os-server-groups/{id}   with members (server uuids)
    DELETE /v2.1/os-server-groups/{id}   204

    since  what changes
    2.13   a group shows project_id and user_id
    2.15   the policies soft-affinity and soft-anti-affinity
    2.64   `policy` (one) and `rules` (max_server_per_host, anti-affinity
           only) instead of `policies` (a list of one) and `metadata`

A create of servers with the scheduler hint `group` (a group of the caller's
project) sends down the group's policy, its member count and its
`max_server_per_host` rule in the hints bestmatch reads: the affinity filters
(bestmatch.filters.affinity) for the hard policies, a preference among the
hosts that fit for the soft ones (bestmatch.soft_groups); the servers made
become members.
"""

from __future__ import annotations

import contextlib
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aiohttp import web

from api.compute.boot import Boots
from api.db.server_groups import ServerGroup, ServerGroupNotFound, ServerGroupQuotaExceeded
from api.errors import BadRequest, Forbidden
from api.microversion import Version
from api.state import database, json_body, not_found, version, who
from model.compute import Instance

WITH_OWNER = Version(2, 13)
SOFT_POLICIES = Version(2, 15)
POLICY_AND_RULES = Version(2, 64)
HARD = ("affinity", "anti-affinity")
SOFT = ("soft-affinity", "soft-anti-affinity")
MAX_PER_HOST = "max_server_per_host"
# The hint keys of bestmatch.filters.affinity (the API does not import bestmatch).
GROUP, GROUP_POLICY, GROUP_MEMBERS = "group", "group_policy", "group_members"
GROUP_MAX_PER_HOST = "group_max_per_host"


def group_body(group: ServerGroup, at: Version) -> dict[str, Any]:
    """A group as Nova shows it at `at`."""
    body: dict[str, Any] = {"id": group.uuid, "name": group.name,
                            "members": list(group.members)}
    if at >= POLICY_AND_RULES:
        body.update(policy=group.policy, rules=dict(group.rules))
    else:
        body.update(policies=[group.policy], metadata={})
    if at >= WITH_OWNER:
        body.update(project_id=group.project, user_id=group.user_id)
    return body


async def index(request: web.Request) -> web.Response:
    caller, at = who(request), version(request)
    every = "all_projects" in request.query and caller.admin
    found = database(request).server_groups.all(None if every else caller.project)
    offset = _number(request, "offset", 0)
    limit = _number(request, "limit", len(found))
    return web.json_response({"server_groups": [
        group_body(g, at) for g in found[offset:offset + limit]]})


async def create(request: web.Request) -> web.Response:
    caller = who(request)
    name, policy, rules = _fields(await json_body(request), version(request))
    limit = database(request).quotas.limits(caller.project)["server_groups"]
    try:
        made = database(request).server_groups.create(caller.project, caller.user_id, name,
                                                      policy, rules, limit)
    except ServerGroupQuotaExceeded:
        raise Forbidden("Quota exceeded, too many server groups.") from None
    return web.json_response({"server_group": group_body(made, version(request))})


async def show(request: web.Request) -> web.Response:
    group = _visible(request)
    return web.json_response({"server_group": group_body(group, version(request))})


async def delete(request: web.Request) -> web.Response:
    group = _visible(request)
    database(request).server_groups.delete(group.uuid)
    return web.Response(status=204)


def _visible(request: web.Request) -> ServerGroup:
    """The path's group, if the caller may see it (admins: any); 404 if not."""
    caller, ident = who(request), request.match_info["id"]
    try:
        return database(request).server_groups.get(
            ident, None if caller.admin else caller.project)
    except ServerGroupNotFound:
        raise not_found("Instance group", ident) from None


def _fields(body: dict[str, Any], at: Version) -> tuple[str, str, dict[str, int]]:
    """Name, policy and rules of a create, as Nova's schema for `at` reads them."""
    fields = body.get("server_group")
    if set(body) != {"server_group"} or not isinstance(fields, dict):
        raise BadRequest("The request body must be {\"server_group\": {...}}.")
    name = fields.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 255 or name.strip() != name:
        raise BadRequest("Invalid input for field/attribute name: a string of 1 to 255"
                         " characters, without leading or trailing spaces.")
    if at >= POLICY_AND_RULES:
        return name, *_policy_and_rules(fields)
    if set(fields) != {"name", "policies"}:
        raise BadRequest("Invalid input for field/attribute server_group: give name and"
                         " policies, nothing else.")
    policies = fields["policies"]
    allowed = HARD + SOFT if at >= SOFT_POLICIES else HARD
    if not isinstance(policies, list) or len(policies) != 1 or policies[0] not in allowed:
        raise BadRequest(f"Invalid input for field/attribute policies: a list of one of"
                         f" {', '.join(allowed)}.")
    return name, policies[0], {}


def _policy_and_rules(fields: dict[str, Any]) -> tuple[str, dict[str, int]]:
    if set(fields) - {"name", "policy", "rules"} or fields.get("policy") not in HARD + SOFT:
        raise BadRequest(f"Invalid input for field/attribute server_group: give name and"
                         f" policy (one of {', '.join(HARD + SOFT)}), and rules if any.")
    policy, rules = fields["policy"], fields.get("rules", {})
    if not isinstance(rules, dict) or set(rules) - {MAX_PER_HOST}:
        raise BadRequest(f"Invalid input for field/attribute rules: only {MAX_PER_HOST}.")
    if rules and policy != "anti-affinity":
        raise BadRequest(f"Only anti-affinity policy supports rules: {MAX_PER_HOST}.")
    most = rules.get(MAX_PER_HOST, 1)
    if isinstance(most, bool) or not isinstance(most, int) or most < 1:
        raise BadRequest(f"Invalid input for field/attribute {MAX_PER_HOST}: an integer of"
                         " at least 1.")
    return policy, dict(rules)


def _number(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise BadRequest(f"Invalid input for query parameters {name}: a non-negative"
                         " integer.")
    return int(text)


def join_group(request: web.Request, boots: Boots) -> tuple[Boots, str | None]:
    """`boots` with their group's policy and member count in their hints, and
    the group's uuid (None without a `group` hint). 400 for a hint that is not
    a uuid, 404 for one that is no group of the caller's project, 403 when the
    group has no room for the servers (server_group_members)."""
    project = who(request).project
    hints = dict(boots.specs[0].hints)
    if GROUP not in hints:
        return boots, None
    ident = hints[GROUP].removeprefix(f"{project}:")  # api.compute.boot scoped it
    if not _is_uuid(ident):
        raise BadRequest(f"Invalid input for field/attribute group. Value: {ident[:64]}."
                         f" '{ident[:64]}' is not a 'uuid'")
    store = database(request).server_groups
    try:
        group = store.get(ident, project)
        store.check_room(ident, len(boots.specs),
                         database(request).quotas.limits(project)["server_group_members"])
    except ServerGroupNotFound:
        raise not_found("Instance group", ident) from None
    except ServerGroupQuotaExceeded:
        raise Forbidden("Quota exceeded, too many servers in group") from None
    hints[GROUP_POLICY] = group.policy
    if group.policy == "anti-affinity" and MAX_PER_HOST in group.rules:
        hints[GROUP_MAX_PER_HOST] = str(group.rules[MAX_PER_HOST])
    specs = [replace(spec, hints=tuple(sorted({  # the create's earlier boots are members too
        **hints, GROUP_MEMBERS: str(len(group.members) + n)}.items())))
        for n, spec in enumerate(boots.specs)]
    return replace(boots, specs=specs), group.uuid


def record_members(request: web.Request, group: str | None, made: Sequence[Instance]) -> None:
    """The servers of a create in `group` are its members."""
    if group is not None and made:
        # A group deleted while its servers booted: they stay, in no group.
        with contextlib.suppress(ServerGroupNotFound):
            database(request).server_groups.add_members(group, [i.uuid for i in made])


def _is_uuid(text: str) -> bool:
    try:
        return str(uuidlib.UUID(text)) == text.lower()
    except ValueError:
        return False


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-server-groups", index)
    app.router.add_post("/v2.1/os-server-groups", create)
    app.router.add_get("/v2.1/os-server-groups/{id}", show)
    app.router.add_delete("/v2.1/os-server-groups/{id}", delete)
