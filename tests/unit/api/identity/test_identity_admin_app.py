"""Keystone's admin API in the whole API app: what one API process deletes ends
tokens in every process on the same database, and a reader only looks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.identity.users import User
from api.state import STATE
from tests.unit.api.apiapp import USERS
from tests.unit.api.apiapp import make_app as make_api_app
from tests.unit.api.identity.helpers import Reply

Request = tuple[str, str, str, Any]  # method, path, token, JSON body (None: none)


def calls(app: web.Application, *requests: Request) -> list[Reply]:
    """The requests, in order, to `app` served once (an app runs only once)."""
    async def main() -> list[Reply]:
        replies = []
        async with TestClient(TestServer(app)) as client:
            for method, path, token, body in requests:
                async with client.request(method, path, json=body,
                                          headers={"X-Auth-Token": token}) as resp:
                    replies.append(Reply(resp.status, resp.headers, await resp.text()))
        return replies
    return asyncio.run(main())


def test_a_deleted_project_ends_its_tokens_in_every_api_process(tmp_path: Path) -> None:
    first, _ = make_api_app(tmp_path)
    store, issuer = first[STATE].users, first[STATE].issuer
    lab = store.create_project("lab")
    dave = store.create_user("dave", "pw")
    store.grant(dave.id, lab.id, "manager")
    token, _ = issuer.issue(dave, lab.id, "manager")
    root, _ = issuer.issue(USERS["root"])
    second, _ = make_api_app(tmp_path)  # another API process on the same database
    [other] = calls(second, ("GET", "/v2.1/flavors", token, None))
    assert other.status == 200
    before, deleted, after = calls(first, ("GET", "/v2.1/flavors", token, None),
                                   ("DELETE", f"/identity/v3/projects/{lab.id}", root, None),
                                   ("GET", "/v2.1/flavors", token, None))
    assert (before.status, deleted.status, after.status) == (200, 204, 401)
    third, _ = make_api_app(tmp_path)
    [refused] = calls(third, ("GET", "/v2.1/flavors", token, None))
    assert refused.status == 401 and "revoked" in refused.json()["error"]["message"]


def test_a_reader_may_look_but_not_change(tmp_path: Path) -> None:
    app, _ = make_api_app(tmp_path)
    reader, _ = app[STATE].issuer.issue(User("u-rita", "rita", "shop", "reader", ""))
    member, _ = app[STATE].issuer.issue(USERS["alice"])
    keypair = {"keypair": {"name": "k"}}
    looked, changed, by_member = calls(app, ("GET", "/v2.1/flavors", reader, None),
                                       ("POST", "/v2.1/os-keypairs", reader, keypair),
                                       ("POST", "/v2.1/os-keypairs", member, keypair))
    assert looked.status == 200
    assert changed.status == 403
    assert "the reader role may only look" in changed.json()["forbidden"]["message"]
    assert by_member.status == 200
