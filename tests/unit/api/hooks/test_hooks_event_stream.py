"""The dashboard's event stream in-process, with notifications on and no bus
to be had (nothing listens where [notifications] points): the API serves,
the stream says first that the bus is not followed, then passes on what the
hub is given, as server-sent events; the app stops with a stream open."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.config import ApiConfig
from api.hooks.hub import EventHub
from api.hooks.service import HOOKS
from api.identity.keys import KeyRepository
from api.state import STATE
from notify.config import NotifyConfig
from tests.unit.api.apiapp import FLAVORS, USERS, FakeTop


def test_the_stream_tells_the_status_then_each_event(tmp_path: Path) -> None:
    KeyRepository(tmp_path / "keys").init()
    config = ApiConfig(listen="127.0.0.1:8774", top="127.0.0.1:1",
                       users_file=tmp_path / "users.json", keys_dir=tmp_path / "keys",
                       flavors=FLAVORS, notifications=NotifyConfig(
                           enabled=True, url="amqp://guest:guest@127.0.0.1:1/"))
    app = build_app(config, tree=FakeTop())  # type: ignore[arg-type]

    async def run() -> list[tuple[str, dict[str, object]]]:
        async with TestClient(TestServer(app)) as client:
            token = app[STATE].issuer.issue(USERS["root"])[0]
            assert (await client.get("/hooks/v1/subscriptions",
                                     headers={"X-Auth-Token": token})).status == 200
            answer = await client.get("/dashboard/api/events", headers={"X-Auth-Token": token})
            assert answer.headers["Content-Type"] == "text/event-stream"
            seen = [await _block(answer.content)]
            app[HOOKS].hub.publish({"type": "event", "event_type": "instance.pause.end",
                                    "uuid": "u-1"})
            seen.append(await _block(answer.content))
            return seen

    seen = asyncio.run(run())
    assert seen == [("status", {"following": False}),
                    ("event", {"event_type": "instance.pause.end", "uuid": "u-1"})]


async def _block(content: asyncio.StreamReader) -> tuple[str, dict[str, object]]:
    kind, data = "", ""
    while True:
        line = (await asyncio.wait_for(content.readline(), 10)).decode().rstrip("\n")
        if not line and kind:
            return kind, json.loads(data)
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")


def test_the_hub_wants_the_bus_only_while_listened_and_tells_when_it_is_live() -> None:
    """The dispatcher binds the hub's queue when a first page listens and lets
    it go with the last (api.hooks.dispatcher); listeners hear "following"
    once both the bus is followed and the queue is bound."""
    async def body() -> None:
        hub = EventHub()
        hub.set_following(True)
        waiting = asyncio.ensure_future(hub.until_listened())
        await asyncio.sleep(0)
        assert not waiting.done()
        with hub.listen() as heard:
            await asyncio.wait_for(waiting, 1)
            assert not hub.live
            assert await hub.until_live(0.01) is False  # nobody bound the queue yet
            hub.set_showing(True)
            assert await hub.until_live(1) is True
            assert heard.get_nowait() == {"type": "status", "following": True}
            hub.set_following(False)
            assert heard.get_nowait() == {"type": "status", "following": False}
        await asyncio.wait_for(hub.until_listened(False), 1)

    asyncio.run(body())
