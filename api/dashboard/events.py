"""GET /dashboard/api/events: the tree's events as this process takes them
off the bus, as server-sent events (text/event-stream), for admins.

    event: status   data: {"following": true|false}   first, and on each change
    event: event    data: {"event_type", "message_id", "timestamp", "uuid",
                           "display_name", "state", "tenant_id", "host", "cell_path"}
    : ping          every HEARTBEAT seconds, so a page can tell a stream that
                    broke from a quiet one

The page reads the stream with fetch (its token goes as X-Auth-Token, as on
every data call; EventSource cannot send a header, and a token in the URL
would end up in logs). While the stream is up and the bus followed, the page
redraws on events and polls rarely; when the stream breaks, or says the bus
is not followed, it polls at the usual pace and opens the stream again later.
With notifications off the answer is 503, and the page polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from api.errors import Forbidden, ServiceUnavailable
from api.hooks.service import HOOKS
from api.state import who

PATH = "/dashboard/api/events"
HEARTBEAT = 15.0  # seconds between pings on a quiet stream
LIVE_WITHIN = 5.0  # seconds a new stream waits for the events to reach it


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, stream)


async def stream(request: web.Request) -> web.StreamResponse:
    caller = who(request)
    if not caller.admin:
        raise Forbidden(f"The dashboard shows the whole cloud: it is for admins, and"
                        f" user {caller.user_name} is a member of project {caller.project}.")
    hooks = request.app[HOOKS]
    if not hooks.enabled:
        raise ServiceUnavailable("Notifications are off in the API's config: there are no"
                                 " events to follow.")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    with hooks.hub.listen() as events:
        # The first listener has the dispatcher bind the hub's queue: live once it is.
        live = await hooks.hub.until_live(LIVE_WITHIN)
        await _send(response, {"type": "status", "following": live})
        with contextlib.suppress(ConnectionResetError):
            while True:
                try:
                    event = await asyncio.wait_for(events.get(), HEARTBEAT)
                except TimeoutError:
                    await response.write(b": ping\n\n")
                    continue
                if event.get("type") == "close":
                    break
                await _send(response, event)
    return response


async def _send(response: web.StreamResponse, event: dict[str, Any]) -> None:
    kind = event.get("type", "event")
    data = json.dumps({k: v for k, v in event.items() if k != "type"}, separators=(",", ":"))
    await response.write(f"event: {kind}\ndata: {data}\n\n".encode())
