"""An API app in-process against a fake top cell, with tokens issued directly,
and Tempest's response schemas to check what it answers.

`FakeTop` holds instances per project and answers the calls the API makes of
the tree for creates and quota counts (boot, list, act). `ApiClient` sends
requests as alice (member of shop), bob (member of lab) or root (admin of
ops), each a token issued by the app's own issuer (no password hashing).
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.config import ApiConfig
from api.identity.keys import KeyRepository
from api.identity.users import User
from api.state import STATE
from model.call import ACT_FOR_KEY
from model.cells import InstancePage, ListQuery
from model.compute import Action, BootSpec, Instance, InstanceState, Resources
from model.edits import Edit, apply
from model.errors import FailedPrecondition, NotFound
from model.instance_actions import EVENTS, ActionLog, ActionRecord, action_name
from model.states import SHELVING
from model.states import check as check_state

USERS = {"alice": User("u-alice", "alice", "shop", "member", ""),
         "bob": User("u-bob", "bob", "lab", "member", ""),
         "root": User("u-root", "root", "ops", "admin", "")}
FLAVORS = {"small": Resources(1, 512, 1), "large": Resources(4, 8192, 40)}


class FakeTopClient:
    """The part of AsyncCellClient the API's creates and counts use."""

    def __init__(self) -> None:
        self.instances: dict[str, Instance] = {}
        self.boots = 0
        self._n = itertools.count()
        self.logs: dict[str, ActionLog] = {}  # what a leaf would keep (model.instance_actions)
        self.hosts_asked: list[str] = []  # the host of each action (an unshelve's)

    async def boot(self, spec: BootSpec, metadata: Any = ()) -> Instance:
        del metadata
        self.boots += 1
        uuid = str(uuidlib.UUID(int=next(self._n) + 1))
        made = Instance(uuid, spec.name, InstanceState.ACTIVE, spec.flavor,
                        project=spec.project, cell_path="top/leaf", host="h1",
                        attributes=spec.attributes, created_at=datetime.now(UTC))
        self.instances[uuid] = made
        self._log(uuid, "create", spec.request_id, spec.project)
        return made

    def _log(self, uuid: str, action: str, request_id: str, project: str = "",
             deleted: bool = False) -> None:
        log = self.logs.get(uuid) or ActionLog(uuid, project)
        now = time.time()
        done = ActionRecord(action, request_id, log.project, start_time=now, finish_time=now,
                            event=EVENTS.get(action, ""), result="Success", host="h1")
        self.logs[uuid] = replace(log, deleted=deleted, actions=(done, *log.actions))

    async def actions(self, uuid: str, request_id: str = "", metadata: Any = ()) -> ActionLog:
        del metadata
        if uuid not in self.logs:
            raise NotFound(f"instance {uuid} not found")
        return self.logs[uuid]

    async def list(self, query: ListQuery, metadata: Any = ()) -> InstancePage:
        del metadata
        return InstancePage(tuple(i for i in self.instances.values()
                                  if not query.project or i.project == query.project))

    async def act(self, uuid: str, action: Action, metadata: Any = (), host: str = "") -> None:
        if uuid not in self.instances:
            raise NotFound(f"instance {uuid} not found")
        # A call narrowed to a project is a member's, which the lock holds
        # (cells.security.scope; the leaf refuses it).
        if ACT_FOR_KEY in dict(metadata) and self.instances[uuid].attributes.locked:
            raise FailedPrecondition(f"Instance {uuid} is locked")
        self._log(uuid, action_name(action), dict(metadata).get("x-request-id", ""),
                  deleted=action is Action.DELETE)
        self.hosts_asked.append(host)
        if action is Action.DELETE:
            self.instances.pop(uuid, None)
        elif action in SHELVING:  # as a leaf of the fake driver (cells.leaf_shelve)
            current = self.instances[uuid]
            moved = replace(current, state=check_state(uuid, current.state, action))
            if action is Action.SHELVE_OFFLOAD:
                moved = replace(moved, host="")
            elif not current.host:
                moved = replace(moved, host=host or "h1")
            self.instances[uuid] = moved

    async def get(self, uuid: str, metadata: Any = ()) -> Instance:
        del metadata
        if uuid not in self.instances:
            raise NotFound(f"instance {uuid} not found")
        return self.instances[uuid]

    async def rebuild(self, uuid: str, image: str, metadata: Any = ()) -> Instance:
        self.instances[uuid] = replace(await self.get(uuid, metadata), image=image)
        return self.instances[uuid]

    async def update(self, uuid: str, edit: Edit, metadata: Any = ()) -> Instance:
        current = await self.get(uuid, metadata)
        name, attributes = apply(current.name, current.attributes, edit)
        self.instances[uuid] = replace(current, name=name, attributes=attributes)
        return self.instances[uuid]

    async def close(self) -> None:
        pass


class FakeTop:
    """Stands where api.tree.Tree does."""

    def __init__(self) -> None:
        self.client = FakeTopClient()

    def metadata(self, who: Any, request_id: str) -> tuple[tuple[str, str], ...]:
        """As api.tree.Tree's: a member's and a manager's calls act for their project."""
        scope = () if who.admin else ((ACT_FOR_KEY, who.project),)
        return (*scope, ("x-request-id", request_id))

    async def close(self) -> None:
        pass


def make_app(tmp: Path, database_url: str = "") -> tuple[web.Application, FakeTop]:
    KeyRepository(tmp / "keys").init()
    config = ApiConfig(listen="127.0.0.1:8774", top="127.0.0.1:1",
                       users_file=tmp / "users.json", keys_dir=tmp / "keys",
                       flavors=FLAVORS, database_url=database_url)
    top = FakeTop()
    return build_app(config, tree=top), top  # type: ignore[arg-type]


class ApiClient:
    """Requests to an app served in a thread of its own (so tests stay plain
    functions); `call` answers (status, JSON body or None)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.client: TestClient[Any, Any] = self._run(self._start())
        self.headers: dict[str, str] = {}

    async def _start(self) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(TestServer(self.app))
        await client.start_server()
        return client

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def call(self, user: str, method: str, path: str, body: Any = None,
             version: str = "2.1") -> tuple[int, Any]:
        token, _ = self.app[STATE].issuer.issue(USERS[user])
        headers = {"X-Auth-Token": token, "OpenStack-API-Version": f"compute {version}"}

        async def send() -> tuple[int, Any]:
            async with self.client.request(method, f"/v2.1{path}", json=body,
                                           headers=headers) as resp:
                text = await resp.text()
                self.headers = dict(resp.headers)  # the last answer's
                return resp.status, (await resp.json() if text else None)
        result: tuple[int, Any] = self._run(send())
        return result

    def close(self) -> None:
        self._run(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


@contextmanager
def api_client(tmp: Path, database_url: str = "") -> Iterator[tuple[ApiClient, FakeTop]]:
    app, top = make_app(tmp, database_url)
    client = ApiClient(app)
    try:
        yield client, top
    finally:
        client.close()


def check(schema_module: str, name: str, status: int, body: Any) -> None:
    """`body` with `status` is what Tempest's schema `name` of `schema_module`
    (under tempest.lib.api_schema.response.compute, e.g. "v2_2.keypairs") allows."""
    schema = getattr(_schemas(schema_module), name)
    assert status in schema["status_code"], (status, body)
    if "response_body" in schema:
        # As Tempest validates: with the format checker (an accessIPv4 of "" is not ipv4).
        jsonschema.Draft4Validator(schema["response_body"],
                                   format_checker=jsonschema.FormatChecker()).validate(body)


def _schemas(name: str) -> Any:
    """Tempest's schema module `name` (tempest.lib.api_schema.response.compute)."""
    return importlib.import_module(f"tempest.lib.api_schema.response.compute.{name}")
