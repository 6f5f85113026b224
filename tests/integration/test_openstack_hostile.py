"""Hostile input to the API process: each refusal has the right status code and
a Nova (or Keystone) error body, carries a request id, and changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.identity.keys import KeyRepository
from api.identity.tokens import TokenIssuer
from api.identity.users import UserStore
from cellops.tree import TreeRunner
from tests.integration.openstack_tree import IMAGE_ID, Raw, start_api_tree

GOOD = {"name": "ok", "flavorRef": "small", "imageRef": IMAGE_ID, "networks": "none"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_api_tree(tmp_path_factory.mktemp("hostile-api"))
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def raw(tree: TreeRunner) -> Raw:
    return Raw(tree)


def count(raw: Raw) -> int:
    return len(raw.call("GET", "/v2.1/servers?all_tenants=1").json()["servers"])


def fault(answer: requests.Response, status: int, name: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["x-openstack-request-id"].startswith("req-")
    message: str = answer.json()[name]["message"]
    assert message
    return message


@pytest.mark.parametrize(("body", "needle"), [
    ({"server": {**GOOD, "name": 7}}, "name"),
    ({"server": {**GOOD, "name": ""}}, "name"),
    ({"server": {**GOOD, "flavorRef": ["small"]}}, "flavorRef"),
    ({"server": {**GOOD, "flavorRef": "huge"}}, "Flavor huge"),
    ({"server": {**GOOD, "imageRef": "nope"}}, "Image nope"),
    ({"server": {**GOOD, "networks": "everything"}}, "networks"),
    ({"server": {**GOOD, "networks": [{"port": "p1"}]}}, "Port id p1 could not be found"),
    ({"server": {**GOOD, "networks": [{"uuid": 5}]}}, "uuid"),
    ({"server": {**GOOD, "networks": [{"uuid": "br-mgmt"}]}}, "Network br-mgmt"),
    ({"server": {**GOOD, "networks": [{"uuid": "prod", "fixed_ip": "192.168.0.1"}]}},
     "not in network prod"),
    ({"server": {**GOOD, "min_count": "two"}}, "min_count"),
    ({"server": {**GOOD, "max_count": 1000}}, "max_count"),
    ({"server": GOOD, "os:scheduler_hints": ["x"]}, "scheduler_hints"),
    ({"server": GOOD, "os:scheduler_hints": {"group": 5}}, "hint group"),
    ({"server": "ok"}, "'server' object"),
    ([GOOD], "JSON object"),
], ids=["name-int", "name-empty", "flavor-list", "flavor-unknown", "image-unknown",
        "networks-str", "networks-port", "networks-uuid-int", "network-unknown",
        "fixed-ip-outside", "count-str", "count-huge",
        "hints-list", "hint-int", "server-str", "body-list"])
def test_a_bad_create_is_400_and_builds_nothing(raw: Raw, body: Any, needle: str) -> None:
    before = count(raw)
    message = fault(raw.call("POST", "/v2.1/servers", body), 400, "badRequest")
    assert needle in message
    assert count(raw) == before


def test_malformed_json_and_huge_bodies_are_refused(raw: Raw) -> None:
    before = count(raw)
    fault(raw.call("POST", "/v2.1/servers", data=b'{"server": {'), 400, "badRequest")
    fault(raw.call("POST", "/v2.1/servers", data=b"\xff\xfe"), 400, "badRequest")
    huge = json.dumps({"server": {**GOOD, "name": "x" * 200_000}}).encode()
    fault(raw.call("POST", "/v2.1/servers", data=huge), 413, "overLimit")
    assert count(raw) == before


@pytest.mark.parametrize(("header", "status"), [
    ("compute 3.0", 406), ("compute 2.101", 406), ("compute 2.0", 406), ("compute two", 400),
    ("compute 2.1.1", 400),
])
def test_a_bad_microversion_is_refused(raw: Raw, header: str, status: int) -> None:
    answer = raw.call("GET", "/v2.1/servers", headers={"OpenStack-API-Version": header})
    fault(answer, status, "notAcceptable" if status == 406 else "badRequest")


def test_microversions_are_echoed_and_latest_is_the_maximum(raw: Raw) -> None:
    answer = raw.call("GET", "/v2.1/servers", headers={"OpenStack-API-Version": "compute latest"})
    assert answer.headers["OpenStack-API-Version"] == "compute 2.100"
    legacy = raw.call("GET", "/v2.1/servers", headers={"X-OpenStack-Nova-API-Version": "2.60"})
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.60"
    assert raw.call("GET", "/v2.1/servers").headers["OpenStack-API-Version"] == "compute 2.1"


def test_expired_forged_and_garbage_tokens_are_401(tree: TreeRunner, raw: Raw) -> None:
    assert tree.api is not None
    keys = KeyRepository(tree.api.directory / "keys")
    admin = next(u for u in UserStore(tree.api.directory / "users.json").users()
                 if u.name == "admin")
    expired, _ = TokenIssuer(keys, ttl=60, clock=lambda: time.time() - 3600).issue(admin)
    forged = Fernet(Fernet.generate_key()).encrypt(b'{"u":"admin"}').decode()
    for token in (expired, forged, "garbage", "x" * 5_000, ""):
        answer = requests.get(f"{raw.url}/v2.1/servers", headers={"X-Auth-Token": token},
                              timeout=10)
        assert answer.status_code == 401, token[:20]
        assert answer.json()["error"]["code"] == 401
        assert "Keystone uri=" in answer.headers["WWW-Authenticate"]
    # Past the HTTP server's header size limit the request never reaches the API.
    too_long = requests.get(f"{raw.url}/v2.1/servers", headers={"X-Auth-Token": "x" * 10_000},
                            timeout=10)
    assert too_long.status_code == 400


@pytest.mark.parametrize(("body", "status", "name"), [
    ({"fly": None}, 400, "badRequest"),
    ({"pause": None, "unpause": None}, 400, "badRequest"),
    ({"reboot": {"type": "GENTLE"}}, 400, "badRequest"),
    ({"reboot": "HARD"}, 400, "badRequest"),
    ({"unpause": None}, 409, "conflictingRequest"),
], ids=["unknown", "two", "reboot-type", "reboot-str", "illegal"])
def test_a_bad_action_is_refused_and_the_server_is_unchanged(
        raw: Raw, body: Any, status: int, name: str) -> None:
    made = raw.call("POST", "/v2.1/servers", {"server": {**GOOD, "name": "target"}})
    uuid = made.json()["server"]["id"]
    try:
        fault(raw.call("POST", f"/v2.1/servers/{uuid}/action", body), status, name)
        assert raw.call("GET", f"/v2.1/servers/{uuid}").json()["server"]["status"] == "ACTIVE"
    finally:
        raw.call("DELETE", f"/v2.1/servers/{uuid}")


@pytest.mark.parametrize(("method", "path", "status", "name"), [
    ("GET", "/v2.1/servers/not-a-uuid", 404, "itemNotFound"),
    ("GET", "/v2.1/servers/../../etc/passwd", 404, "itemNotFound"),
    ("DELETE", "/v2.1/servers/00000000-0000-4000-8000-000000000000", 404, "itemNotFound"),
    ("GET", "/v2.1/flavors/none", 404, "itemNotFound"),
    ("GET", "/image/v2/images/none", 404, "itemNotFound"),
    ("GET", "/v2.1/nothing-here", 404, "itemNotFound"),
    ("PUT", "/v2.1/servers", 405, "badMethod"),
    ("GET", "/v2.1/servers?limit=-1", 400, "badRequest"),
    ("GET", "/v2.1/servers?name=(", 400, "badRequest"),
    ("GET", "/v2.1/servers?changes-since=yesterday", 400, "badRequest"),
    ("GET", "/v2.1/servers?marker=nope", 400, "badRequest"),
    ("GET", "/v2.1/servers?sort_key=flavor", 400, "badRequest"),
])
def test_bad_paths_and_queries(raw: Raw, method: str, path: str, status: int,
                               name: str) -> None:
    fault(raw.call(method, path), status, name)


@pytest.mark.parametrize(("method", "path", "data", "headers"), [
    ("GET", "/v2.1/servers?limit=%C2%B2", None, {}),
    ("GET", "/v2.1/servers?name=a%7B4294967296%7D", None, {}),
    ("GET", "/v2.1/servers", None, {"X-OpenStack-Nova-API-Version": "2.1\u00b9"}),
    ("POST", "/v2.1/servers", b"[" * 60_000, {}),
    ("POST", "/identity/v3/auth/tokens", b"[" * 60_000, {}),
], ids=["unicode-digit-limit", "huge-repeat", "unicode-digit-version", "nested-json",
        "nested-login"])
def test_odd_input_is_never_a_500(raw: Raw, method: str, path: str,
                                                 data: bytes | None,
                                                 headers: dict[str, str]) -> None:
    sent = {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}
    answer = raw.call(method, path, data=data, headers=sent)
    assert answer.status_code < 500, answer.text  # refused, or (a literal repeat) answered


def test_a_body_sent_in_pieces_is_read_whole(raw: Raw) -> None:
    whole = json.dumps({"server": {**GOOD, "name": "pieces"}}).encode()
    answer = raw.call("POST", "/v2.1/servers", data=iter([whole[:20], whole[20:]]))  # chunked
    assert answer.status_code == 202, answer.text
    raw.call("DELETE", f"/v2.1/servers/{answer.json()['server']['id']}")


def test_a_catastrophic_name_filter_is_answered(raw: Raw) -> None:
    made = raw.call("POST", "/v2.1/servers", {"server": {**GOOD, "name": "a" * 40 + "!"}})
    try:
        # Exponential for a backtracking matcher; linear for RE2.
        answer = raw.call("GET", "/v2.1/servers?name=(a%2B)%2B%24")
        assert answer.status_code == 200 and answer.json()["servers"] == []
    finally:
        raw.call("DELETE", f"/v2.1/servers/{made.json()['server']['id']}")


def test_links_name_the_configured_url_whatever_the_host_header(raw: Raw) -> None:
    for path in ("/identity", "/v2.1"):
        answer = requests.get(f"{raw.url}{path}", headers={"Host": "evil.example"}, timeout=10)
        assert "evil.example" not in answer.text and raw.url in answer.text


def test_a_huge_query_string_is_refused_without_harm(raw: Raw) -> None:
    answer = raw.call("GET", "/v2.1/servers?name=" + "a" * 20_000)
    assert 400 <= answer.status_code < 500
    assert raw.call("GET", "/v2.1/servers").status_code == 200


def test_a_bad_login_is_a_keystone_error(raw: Raw) -> None:
    url = f"{raw.url}/identity/v3/auth/tokens"
    wrong = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "wrong"}}}}}
    assert requests.post(url, json=wrong, timeout=10).json()["error"]["code"] == 401
    bad = requests.post(url, data=b"{nope", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 400


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(server=st.dictionaries(
    st.sampled_from(["name", "flavorRef", "imageRef", "networks", "min_count", "max_count",
                     "availability_zone", "block_device_mapping_v2"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
              st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                   st.integers(), max_size=2))))
def test_random_create_bodies_never_fail_the_api(raw: Raw, server: dict[str, Any]) -> None:
    before = count(raw)
    answer = raw.call("POST", "/v2.1/servers", {"server": server})
    assert answer.status_code in (202, 400, 409), answer.text
    if answer.status_code == 202:
        raw.call("DELETE", f"/v2.1/servers/{answer.json()['server']['id']}")
    else:
        assert count(raw) == before
