"""/hooks/v1 in-process: admins manage any subscription, a member only its
project's (and sees no other); a secret is never shown back; the deliveries
of a subscription are listed with their state. And the dashboard's event
stream: admins only, 503 while notifications are off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.hooks.deliveries import HookEvent
from api.hooks.service import HOOKS
from api.state import STATE
from tests.unit.api.apiapp import USERS, ApiClient, api_client

SECRET = "a-secret-of-the-receiver"
URL = "http://127.0.0.1:9/in"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    with api_client(tmp_path) as (client, _):
        yield client


def call(api: ApiClient, user: str, method: str, path: str,
         body: Any = None) -> tuple[int, Any, dict[str, str]]:
    headers = {}
    if user:
        headers["X-Auth-Token"] = api.app[STATE].issuer.issue(USERS[user])[0]

    async def send() -> tuple[int, Any, dict[str, str]]:
        async with api.client.request(method, path, json=body, headers=headers) as resp:
            text = await resp.text()
            return resp.status, (await resp.json() if text else None), dict(resp.headers)
    result: tuple[int, Any, dict[str, str]] = api._run(send())
    return result


def subscribe(api: ApiClient, user: str, **fields: Any) -> tuple[int, Any]:
    body = {"url": URL, "secret": SECRET, **fields}
    status, answer, _ = call(api, user, "POST", "/hooks/v1/subscriptions",
                             {"subscription": body})
    return status, answer


def test_a_member_subscribes_for_its_own_project_only(api: ApiClient) -> None:
    status, made = subscribe(api, "alice", events=["instance.*.end"])
    assert status == 201, made
    assert made["subscription"]["project"] == "shop"
    assert made["subscription"]["events"] == ["instance.*.end"]
    status, refused = subscribe(api, "alice", project="lab")
    assert status == 403 and "own project" in refused["forbidden"]["message"]
    status, _ = subscribe(api, "alice", project="")
    assert status == 403


def test_an_admin_subscribes_for_any_project_or_every_one(api: ApiClient) -> None:
    assert subscribe(api, "root")[1]["subscription"]["project"] == ""
    assert subscribe(api, "root", project="lab")[1]["subscription"]["project"] == "lab"


def test_a_secret_is_never_shown_back(api: ApiClient) -> None:
    status, made = subscribe(api, "alice")
    assert status == 201
    ident = made["subscription"]["id"]
    seen = [made, call(api, "alice", "GET", "/hooks/v1/subscriptions")[1],
            call(api, "alice", "GET", f"/hooks/v1/subscriptions/{ident}")[1],
            call(api, "root", "GET", "/hooks/v1/subscriptions")[1]]
    assert all(SECRET not in str(body) and "secret" not in str(body) for body in seen)


def test_a_member_sees_only_its_projects_subscriptions(api: ApiClient) -> None:
    mine = subscribe(api, "alice")[1]["subscription"]["id"]
    theirs = subscribe(api, "bob")[1]["subscription"]["id"]
    listed = call(api, "alice", "GET", "/hooks/v1/subscriptions")[1]["subscriptions"]
    assert [s["id"] for s in listed] == [mine]
    for method in ("GET", "DELETE"):
        status, body, _ = call(api, "alice", method, f"/hooks/v1/subscriptions/{theirs}")
        assert status == 404, body
    everything = call(api, "root", "GET", "/hooks/v1/subscriptions")[1]["subscriptions"]
    assert {s["id"] for s in everything} == {mine, theirs}
    only_lab = call(api, "root", "GET", "/hooks/v1/subscriptions?project=lab")[1]
    assert [s["id"] for s in only_lab["subscriptions"]] == [theirs]
    assert call(api, "root", "DELETE", f"/hooks/v1/subscriptions/{theirs}")[0] == 204
    assert call(api, "bob", "GET", f"/hooks/v1/subscriptions/{theirs}")[0] == 404


@pytest.mark.parametrize(("body", "needle"), [
    ({"url": "http://hooks.example.com/", "secret": SECRET}, "https://"),
    ({"url": URL, "secret": "short"}, "secret"),
    ({"url": URL, "secret": SECRET, "events": "instance.*"}, "events"),
    ({"url": URL, "secret": SECRET, "colour": "red"}, "Unknown field"),
    ({"url": URL}, "secret"),
], ids=["http-remote", "short-secret", "events-text", "unknown-field", "no-secret"])
def test_a_bad_subscription_is_400_saying_why(api: ApiClient, body: dict[str, Any],
                                              needle: str) -> None:
    status, answer, _ = call(api, "alice", "POST", "/hooks/v1/subscriptions",
                             {"subscription": body})
    assert status == 400 and needle in answer["badRequest"]["message"], answer


def test_deliveries_are_listed_with_their_state_for_whoever_may_see_them(
        api: ApiClient) -> None:
    mine = subscribe(api, "alice")[1]["subscription"]["id"]
    subscribe(api, "bob")
    api.app[HOOKS].deliveries.record(HookEvent("m-1", "instance.pause.end", "shop", b"{}"))
    api.app[HOOKS].deliveries.record(HookEvent("m-2", "instance.pause.end", "lab", b"{}"))
    status, page, _ = call(api, "alice", "GET", f"/hooks/v1/subscriptions/{mine}/deliveries")
    assert status == 200
    (row,) = page["deliveries"]
    assert (row["message_id"], row["state"], row["attempts"]) == ("m-1", "pending", 0)
    assert row["next_attempt_at"].endswith("Z")
    assert [d["message_id"] for d in call(api, "alice", "GET", "/hooks/v1/deliveries")[1][
        "deliveries"]] == ["m-1"]
    assert len(call(api, "root", "GET", "/hooks/v1/deliveries")[1]["deliveries"]) == 2
    assert call(api, "root", "GET", "/hooks/v1/deliveries?state=gone")[0] == 400


def test_hooks_need_a_token_and_readers_only_look(api: ApiClient) -> None:
    assert call(api, "", "GET", "/hooks/v1/subscriptions")[0] == 401
    status, _, headers = call(api, "alice", "GET", "/hooks/v1/subscriptions")
    assert status == 200 and "OpenStack-API-Version" not in headers


def test_the_event_stream_is_for_admins_and_503_while_notifications_are_off(
        api: ApiClient) -> None:
    assert call(api, "", "GET", "/dashboard/api/events")[0] == 401
    assert call(api, "alice", "GET", "/dashboard/api/events")[0] == 403
    status, body, _ = call(api, "root", "GET", "/dashboard/api/events")
    assert status == 503 and "Notifications are off" in body["serviceUnavailable"]["message"]
