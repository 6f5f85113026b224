"""Server actions: POST /v2.1/servers/{id}/action with one action in the body.

    {"pause": null} {"unpause": null} {"suspend": null} {"resume": null}
    {"reboot": {"type": "SOFT" | "HARD"}} {"os-stop": null} {"os-start": null}

202 once the leaf has accepted the action (a cast, as in Nova: clients poll
the server's status); 409 with the cell's message when the server's state,
or its leaf's driver, does not allow it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.compute.servers import server_uuid
from api.errors import BadRequest
from api.state import action_metadata, json_body, not_found, state
from model.compute import Action
from model.errors import NotFound

SIMPLE = {"pause": Action.PAUSE, "unpause": Action.UNPAUSE, "suspend": Action.SUSPEND,
          "resume": Action.RESUME, "os-stop": Action.STOP, "os-start": Action.START}
REBOOTS = {"SOFT": Action.REBOOT, "HARD": Action.REBOOT_HARD}


async def act(request: web.Request) -> web.Response:
    uuid = server_uuid(request)
    action = action_of(await json_body(request))
    try:
        await state(request).tree.client.act(uuid, action, metadata=action_metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None
    return web.Response(status=202)


def action_of(body: dict[str, Any]) -> Action:
    if len(body) != 1:
        raise BadRequest("The body must name exactly one action.")
    (name, args), = body.items()
    if name in SIMPLE:
        return SIMPLE[name]
    if name == "reboot":
        kind = args.get("type") if isinstance(args, dict) else None
        if not isinstance(kind, str) or kind.upper() not in REBOOTS:
            raise BadRequest("reboot needs {\"type\": \"SOFT\"} or {\"type\": \"HARD\"}.")
        return REBOOTS[kind.upper()]
    raise BadRequest(f"There is no such action: {str(name)[:64]}")
