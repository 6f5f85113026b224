"""Server actions: POST /v2.1/servers/{id}/action with one action in the body.

    {"pause": null} {"unpause": null} {"suspend": null} {"resume": null}
    {"reboot": {"type": "SOFT" | "HARD"}} {"os-stop": null} {"os-start": null}
    {"lock": null | {"locked_reason": "..."} (2.73)} {"unlock": null}
    {"rebuild": {"imageRef": ..., ...}} (api.compute.rebuild)
    {"os-resetState": {"state": "active" | "error"}} (admins)
    {"addSecurityGroup": {"name": ...}} {"removeSecurityGroup": {"name": ...}}
        (api.compute.server_security_groups; kept, not yet enforced on hosts)
    {"shelve": null} {"shelveOffload": null} {"unshelve": null | {...}}
        (api.compute.shelve)

202 once the leaf has accepted the action (a cast, as in Nova: clients poll
the server's status); 409 with the cell's message when the server's state,
or its leaf's driver, does not allow it. While a server is locked, a
member's actions other than unlock are 409, as Nova's; an admin's are not.

The other actions Nova has (`NOVA_ONLY`: resize, migrate, rescue, createImage,
...) are not built: for a server that exists they are 409 saying so, and, as
in Nova, a server that does not exist is 404 whatever the action. A name
Nova does not know is 400. `SUPPORTED` lists the actions built, for those
who configure clients (Tempest's feature flags are read from it).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.compute import server_edits, server_security_groups, shelve
from api.compute.rebuild import rebuild
from api.compute.server_attributes import description_of
from api.compute.servers import server_uuid
from api.errors import BadRequest, Conflict, Forbidden
from api.state import action_metadata, json_body, not_found, state, version, who
from model.compute import Action
from model.edits import Edit
from model.errors import NotFound

SIMPLE = {"pause": Action.PAUSE, "unpause": Action.UNPAUSE, "suspend": Action.SUSPEND,
          "resume": Action.RESUME, "os-stop": Action.STOP, "os-start": Action.START}
REBOOTS = {"SOFT": Action.REBOOT, "HARD": Action.REBOOT_HARD}
EDITS = frozenset({"lock", "unlock"})
SUPPORTED = frozenset({*SIMPLE, "reboot", "rebuild", "os-resetState", "injectNetworkInfo",
                       *EDITS, *server_security_groups.ACTIONS, *shelve.SHELVING})
NOVA_ONLY = frozenset({
    "resize", "confirmResize", "revertResize", "migrate", "os-migrateLive", "evacuate",
    "resetNetwork", "createBackup",
    "createImage", "rescue", "unrescue",
    "changePassword", "os-getConsoleOutput", "os-getVNCConsole", "os-getSPICEConsole",
    "os-getSerialConsole", "os-getRDPConsole", "os-getMKSConsole", "addFixedIp",
    "removeFixedIp", "addFloatingIp", "removeFloatingIp", "forceDelete", "restore",
    "trigger_crash_dump",
})


async def act(request: web.Request) -> web.Response:
    uuid = server_uuid(request)
    name, args = _one(await json_body(request))
    if name in EDITS:
        await _lock(request, name == "lock", args)
        return web.Response(status=202)
    if name == "rebuild":
        return await rebuild(request, uuid, args)
    if name == "injectNetworkInfo":
        await _inject_network_info(request)
        return web.Response(status=202)
    if name == "os-resetState":
        await _reset_state(request, args)
        return web.Response(status=202)
    if name in server_security_groups.ACTIONS:
        await server_security_groups.act(request, name, args)
        return web.Response(status=202)
    if name in shelve.SHELVING:
        return await shelve.act(request, uuid, name, args)
    if name in NOVA_ONLY:
        await server_edits.current(request)  # 404 first, as Nova
        raise Conflict(f"This cloud does not do {name}: the action is not built.")
    action = action_of(name, args)
    try:  # a member's action on a locked server: the leaf's 409 (cells.security.scope)
        await state(request).tree.client.act(uuid, action, metadata=action_metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None
    return web.Response(status=202)


def _one(body: dict[str, Any]) -> tuple[str, Any]:
    if len(body) != 1:
        raise BadRequest("The body must name exactly one action.")
    (name, args), = body.items()
    if name not in SUPPORTED and name not in NOVA_ONLY:
        raise BadRequest(f"There is no such action: {str(name)[:64]}")
    return str(name), args


def action_of(name: str, args: Any) -> Action:
    """The tree's action for a supported Nova action other than lock and unlock."""
    if name in SIMPLE:
        return SIMPLE[name]
    kind = args.get("type") if isinstance(args, dict) else None
    if not isinstance(kind, str) or kind.upper() not in REBOOTS:
        raise BadRequest("reboot needs {\"type\": \"SOFT\"} or {\"type\": \"HARD\"}.")
    return REBOOTS[kind.upper()]


async def _inject_network_info(request: web.Request) -> None:
    """An admin's "inject network info": 202 for a server the admin sees, and
    nothing written into the guest. No driver of the tree writes network
    files into guests (guests learn their addresses from their ports), which
    is also what Nova's libvirt driver does with this action (nothing)."""
    if not who(request).admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-admin-actions:inject_network_info"
                        " to be performed.")
    await server_edits.current(request)  # 404 for a server that is not there


async def _reset_state(request: web.Request, args: Any) -> None:
    """An admin's word on the server's state: "error" shows it ERROR (and it
    takes only a delete) until "active" gives it back the state its hypervisor
    reports. The guest is not touched."""
    if not isinstance(args, dict) or args.get("state") not in ("active", "error"):
        raise BadRequest("os-resetState needs {\"state\": \"active\"} or"
                         " {\"state\": \"error\"}.")
    if not who(request).admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-admin-actions:reset_state"
                        " to be performed.")
    await server_edits.edited(request, Edit(reset_to_error=args["state"] == "error"))


async def _lock(request: web.Request, lock: bool, args: Any) -> None:
    reason = None
    if lock and isinstance(args, dict) and "locked_reason" in args:
        if version(request) < server_edits.LOCKED_REASON:
            raise BadRequest("Invalid input: 'locked_reason' needs microversion 2.73 or later.")
        reason = description_of(args["locked_reason"])
    elif args not in (None, {}):
        raise BadRequest(f"{'lock' if lock else 'unlock'} takes no arguments here.")
    await server_edits.edited(request, Edit(locked=lock, locked_reason=reason or ""))
