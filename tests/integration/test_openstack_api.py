"""Unmodified OpenStack clients (the `openstack` CLI and openstacksdk) against a
real tree of cell processes with the API process in front of it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import openstack.connection
import openstack.exceptions
import pytest

from cellops.tree import TreeRunner
from tests.integration.conftest import start_tree
from tests.integration.openstack_tree import (
    API_TREE,
    IMAGE_ID,
    Raw,
    cli,
    cli_json,
    env_for,
    sdk,
    start_api_tree,
    wait_for,
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_api_tree(tmp_path_factory.mktemp("api-tree"))
    yield runner
    runner.stop()


def status_of(tree: TreeRunner, server: str) -> str:
    shown = cli_json(tree, "server", "show", server)
    return str(shown["status"])


def act_and_wait(tree: TreeRunner, verb: str, server: str, want: str) -> None:
    """`openstack server VERB` then poll as `--wait` does (only some verbs have it)."""
    cli(tree, "server", verb, server)
    assert wait_for(lambda: status_of(tree, server) == want), f"{verb}: never {want}"


def test_the_cli_logs_in_creates_lists_acts_and_deletes(tree: TreeRunner) -> None:
    created = cli_json(tree, "server", "create", "--flavor", "small", "--image", "debian-12",
                       "--nic", "none", "--wait", "cli-web-1")
    assert created["status"] == "ACTIVE" and created["name"] == "cli-web-1"
    listed = cli_json(tree, "server", "list")
    assert any(s["ID"] == created["id"] for s in listed)
    shown = cli_json(tree, "server", "show", "cli-web-1")
    assert shown["id"] == created["id"]
    assert shown["image"].startswith("debian-12") and IMAGE_ID in shown["image"]
    assert shown["OS-EXT-SRV-ATTR:host"] in ("h1", "h2", "h3", "h4")  # admin sees the host
    act_and_wait(tree, "pause", "cli-web-1", "PAUSED")
    act_and_wait(tree, "unpause", "cli-web-1", "ACTIVE")
    act_and_wait(tree, "suspend", "cli-web-1", "SUSPENDED")
    act_and_wait(tree, "resume", "cli-web-1", "ACTIVE")
    cli(tree, "server", "reboot", "--wait", "cli-web-1")
    cli(tree, "server", "reboot", "--hard", "--wait", "cli-web-1")
    assert status_of(tree, "cli-web-1") == "ACTIVE"
    act_and_wait(tree, "stop", "cli-web-1", "SHUTOFF")
    act_and_wait(tree, "start", "cli-web-1", "ACTIVE")
    cli(tree, "server", "delete", "--wait", "cli-web-1")
    assert all(s["ID"] != created["id"] for s in cli_json(tree, "server", "list"))


def test_an_illegal_transition_is_a_409_with_the_cells_message(tree: TreeRunner) -> None:
    server = cli_json(tree, "server", "create", "--flavor", "small", "--image", "debian-12",
                      "--wait", "cli-409")
    refused = cli(tree, "server", "unpause", "cli-409", check=False)
    assert refused.returncode != 0
    assert "ConflictException: 409" in refused.stderr
    assert f"cannot unpause instance {server['id']} while it is ACTIVE" in refused.stderr
    assert status_of(tree, "cli-409") == "ACTIVE"
    cli(tree, "server", "delete", "--wait", "cli-409")


def test_the_sdk_pages_through_servers_with_next_links(tree: TreeRunner) -> None:
    conn = sdk(tree, "alice")
    made = [conn.compute.create_server(name=f"page-{n}", flavor_id="small", image_id=IMAGE_ID,
                                       networks="none") for n in range(5)]
    raw = Raw(tree, "alice")
    first = raw.call("GET", "/v2.1/servers?limit=2").json()
    assert len(first["servers"]) == 2 and first["servers_links"][0]["rel"] == "next"
    everything = list(conn.compute.servers(limit=2))
    assert sorted(s.id for s in everything) == sorted(s.id for s in made)
    for server in made:
        conn.compute.delete_server(server)


def test_a_member_sees_only_its_project_and_others_are_as_missing(tree: TreeRunner) -> None:
    alice, bob = sdk(tree, "alice"), sdk(tree, "bob")
    mine = alice.compute.create_server(name="alice-1", flavor_id="small", image_id=IMAGE_ID,
                                       networks="none")
    assert alice.compute.get_server(mine.id).project_id == "shop"
    with pytest.raises(openstack.exceptions.NotFoundException):
        bob.compute.get_server(mine.id)
    assert all(s.id != mine.id for s in bob.compute.servers())
    raw = Raw(tree, "bob")
    theirs = raw.call("GET", f"/v2.1/servers/{mine.id}")
    missing_id = "00000000-0000-4000-8000-000000000000"
    missing = raw.call("GET", f"/v2.1/servers/{missing_id}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(mine.id, "X") == missing.text.replace(missing_id, "X")
    refused = raw.call("POST", f"/v2.1/servers/{mine.id}/action", {"pause": None})
    assert refused.status_code == 404
    assert alice.compute.get_server(mine.id).status == "ACTIVE"
    alice.compute.delete_server(mine)


def by_project_id(tree: TreeRunner, user: str = "admin",
                  project_id: str = "") -> openstack.connection.Connection:
    """openstacksdk logged in with a project id and no project name or domain."""
    env = env_for(tree, user)
    return openstack.connect(
        auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"], password=env["OS_PASSWORD"],
        project_id=project_id or env["OS_PROJECT_ID"], user_domain_name="Default",
        region_name="RegionOne")


def test_a_login_by_project_id_alone_is_scoped_as_one_by_project_name(
        tree: TreeRunner) -> None:
    env = env_for(tree)
    assert env["OS_PROJECT_ID"] == env["OS_PROJECT_NAME"] == "admin"  # an id is its name
    by_id, by_name = by_project_id(tree), sdk(tree)
    assert by_id.current_project_id == by_name.current_project_id == "admin"
    token = by_id.session.auth.get_access(by_id.session)
    assert (token.project_id, token.project_name) == ("admin", "admin")
    assert sorted(token.role_names) == ["admin", "manager", "member", "reader"]  # implied
    assert by_id.compute.get_endpoint() == by_name.compute.get_endpoint()
    made = by_id.compute.create_server(name="by-project-id", flavor_id="small",
                                       image_id=IMAGE_ID, networks="none")
    assert by_name.compute.get_server(made.id).project_id == "admin"
    by_name.compute.delete_server(made)
    alice = by_project_id(tree, "alice")
    assert alice.current_project_id == "shop"
    with pytest.raises(openstack.exceptions.SDKException, match="no access to project admin"):
        by_project_id(tree, "alice", project_id="admin").authorize()


def test_the_openrc_alone_logs_a_client_in_by_project_id(
        tree: TreeRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a client that reads the environment does: openstacksdk from the openrc's
    variables, the project given by id only."""
    assert tree.api is not None
    openrc = (tree.api.directory / "openrc").read_text()
    env = dict(line.removeprefix("export ").split("=", 1) for line in openrc.splitlines())
    assert env["OS_PROJECT_ID"] == "admin" and env["OS_DOMAIN_NAME"] == "Default"
    for name in [k for k in os.environ if k.startswith("OS_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name not in ("OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME"):
            monkeypatch.setenv(name, value)
    conn = openstack.connect()
    assert conn.current_project_id == "admin"
    assert any(f.name == "small" for f in conn.compute.flavors())


def test_a_retried_create_with_the_same_request_id_builds_one_server(tree: TreeRunner) -> None:
    raw = Raw(tree, "alice")
    body = {"server": {"name": "once", "flavorRef": "small", "imageRef": IMAGE_ID,
                       "networks": [{"uuid": "prod", "fixed_ip": "10.0.0.5"}]}}
    rid = {"X-OpenStack-Request-ID": "req-6f1c2b0e-93a4-4c3e-9c55-1b6f2f0c6e21"}
    first, again = raw.call("POST", "/v2.1/servers", body, headers=rid), raw.call(
        "POST", "/v2.1/servers", body, headers=rid)
    assert first.status_code == again.status_code == 202
    assert first.json()["server"]["id"] == again.json()["server"]["id"]
    assert first.headers["x-openstack-request-id"] == rid["X-OpenStack-Request-ID"]
    assert first.headers["Location"].endswith(first.json()["server"]["id"])
    with tree.client() as top:  # the HTTP request id starts the boot's, all the way down
        built = top.get(first.json()["server"]["id"])
        assert built.request_id.startswith(rid["X-OpenStack-Request-ID"])
    # The same id on another request (clients may send one id with every request)
    # is another server.
    other = raw.call("POST", "/v2.1/servers", {"server": {**body["server"], "name": "twice"}},
                     headers=rid)
    assert other.status_code == 202 and other.json()["server"]["id"] != built.uuid
    assert raw.call("DELETE", f"/v2.1/servers/{other.json()['server']['id']}").status_code == 204
    shown = raw.call("GET", f"/v2.1/servers/{first.json()['server']['id']}").json()["server"]
    (address,) = shown["addresses"]["prod"]
    assert address["addr"] == "10.0.0.5" and address["OS-EXT-IPS-MAC:mac_addr"].startswith(
        "fa:16:3e:")
    named = raw.call("GET", "/v2.1/servers?name=^once$").json()["servers"]
    assert [s["id"] for s in named] == [shown["id"]]
    assert raw.call("DELETE", f"/v2.1/servers/{shown['id']}").status_code == 204


def test_flavors_and_images_are_what_the_tree_file_declares(tree: TreeRunner) -> None:
    conn = sdk(tree)
    assert [(f.name, f.vcpus, f.ram, f.disk) for f in conn.compute.flavors()] == [
        ("small", 1, 2048, 10)]
    (image,) = conn.image.images(name="debian-12")
    assert image.id == IMAGE_ID and image.min_disk == 5
    refused = Raw(tree).call("POST", "/v2.1/servers", {"server": {
        "name": "x", "flavorRef": "small", "imageRef": "no-such-image"}})
    assert refused.status_code == 400 and "could not be found" in refused.json()[
        "badRequest"]["message"]


def test_a_down_leaf_gives_unknown_entries_from_2_69_and_a_partial_list_before(
        tmp_path: Path) -> None:
    runner = start_api_tree(tmp_path)
    try:
        raw = Raw(runner)
        made: dict[str, str] = {}  # id -> leaf path
        while len(set(made.values())) < 2:  # servers on at least two leaves
            assert len(made) < 30, "random placement kept choosing one leaf"
            body = {"server": {"name": f"vm-{len(made)}", "flavorRef": "small",
                               "networks": "none"}}
            answer = raw.call("POST", "/v2.1/servers", body)
            assert answer.status_code == 202, answer.text
            uuid = answer.json()["server"]["id"]
            # Where it went: the dashboard's API (a server body has no key of ours).
            listed = raw.call("GET", f"/dashboard/api/instances?name={body['server']['name']}")
            made[uuid] = next(i["cell_path"] for i in listed.json()["instances"]
                              if i["uuid"] == uuid)
        victim_path = next(iter(made.values()))
        runner.kill_cell(victim_path.rsplit("!", 1)[1])
        gone = {uuid for uuid, path in made.items() if path == victim_path}
        newer = {"OpenStack-API-Version": "compute 2.69"}
        older = {"OpenStack-API-Version": "compute 2.68"}

        def unknown_now() -> bool:
            servers = raw.call("GET", "/v2.1/servers/detail", headers=newer).json()["servers"]
            return any(s["status"] == "UNKNOWN" for s in servers)

        assert wait_for(unknown_now)
        servers = raw.call("GET", "/v2.1/servers/detail", headers=newer).json()["servers"]
        assert {s["id"] for s in servers} == set(made)
        for server in servers:
            if server["id"] in gone:
                assert server["status"] == "UNKNOWN" and set(server) == {
                    "id", "status", "tenant_id", "created", "links"}
            else:
                assert server["status"] == "ACTIVE"
        partial = raw.call("GET", "/v2.1/servers/detail", headers=older)
        assert partial.status_code == 200
        assert {s["id"] for s in partial.json()["servers"]} == set(made) - gone
        lost = next(iter(gone))
        shown = raw.call("GET", f"/v2.1/servers/{lost}", headers=newer)
        assert shown.status_code == 200 and shown.json()["server"]["status"] == "UNKNOWN"
        assert raw.call("GET", f"/v2.1/servers/{lost}", headers=older).status_code == 503
        # Paging before 2.69 skips the down cell's servers without empty pages.
        paged, link = [], "/v2.1/servers?limit=1"
        while link:
            page = raw.call("GET", link, headers=older).json()
            assert page["servers"], "an empty page ends a client's paging"
            paged += [s["id"] for s in page["servers"]]
            nexts = [lk["href"] for lk in page.get("servers_links", []) if lk["rel"] == "next"]
            link = nexts[0].removeprefix(raw.url) if nexts else ""
        assert sorted(paged) == sorted(set(made) - gone)
        # Another project's server in the down cell is missing, with the body of a
        # missing one (not unavailable: that would tell it exists).
        bob = Raw(runner, "bob")
        for headers in (newer, older):
            theirs = bob.call("GET", f"/v2.1/servers/{lost}", headers=headers)
            assert theirs.status_code == 404
            assert theirs.json() == {"itemNotFound": {
                "code": 404, "message": f"Instance {lost} could not be found."}}
    finally:
        runner.stop()


def test_the_trees_rate_limit_is_429_over_limit(tmp_path: Path) -> None:
    limited = API_TREE.replace("[cells.r1]", "[cells.top.limits]\n"
                               "requests_per_second_per_client = 1\nburst_per_client = 2\n\n"
                               "[cells.r1]", 1)
    runner = start_tree(tmp_path, limited)
    try:
        raw = Raw(runner)
        # Starting the tree spent the budget of this address: wait for it to refill.
        assert wait_for(lambda: raw.call("GET", "/v2.1/servers").status_code == 200)
        answers = [raw.call("GET", "/v2.1/servers") for _ in range(5)]
        refused = next(a for a in answers if a.status_code != 200)
        assert refused.status_code == 429, refused.text
        assert "rate limit" in refused.json()["overLimit"]["message"]
    finally:
        runner.stop()



def test_the_api_reaches_a_top_under_tls_with_a_token_of_its_own(tmp_path: Path) -> None:
    secure = API_TREE.replace("insecure = true", "tls = true\ntokens = true", 1)
    runner = start_api_tree(tmp_path, secure)
    try:
        assert runner.api is not None
        assert "top_ca_file" in (runner.api.directory / "api.toml").read_text()
        alice = sdk(runner, "alice")
        made = alice.compute.create_server(name="tls-1", flavor_id="small", image_id=IMAGE_ID,
                                           networks="none")
        assert [s.id for s in alice.compute.servers()] == [made.id]
        assert all(s.id != made.id for s in sdk(runner, "bob").compute.servers())
        alice.compute.delete_server(made)
    finally:
        runner.stop()


def test_a_multiple_create_makes_as_many_as_fit_or_none(tree: TreeRunner) -> None:
    raw = Raw(tree)
    # The tree's capacity is what this is about, not the project's quota (10 by default).
    unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
    assert raw.call("PUT", "/v2.1/os-quota-sets/admin", unlimited).status_code == 200
    before = {s["id"] for s in raw.call("GET", "/v2.1/servers?all_tenants=1").json()["servers"]}
    fit = raw.call("POST", "/v2.1/servers", {"server": {
        "name": "many", "flavorRef": "small", "min_count": 1, "max_count": 60}})
    assert fit.status_code == 202, fit.text
    made = [s["id"] for s in raw.call("GET", "/v2.1/servers?name=^many-").json()["servers"]]
    assert 1 <= len(made) < 60  # the tree holds 36 small servers
    for uuid in made:
        raw.call("DELETE", f"/v2.1/servers/{uuid}")
    assert wait_for(lambda: not raw.call("GET", "/v2.1/servers?name=^many-").json()["servers"])
    refused = raw.call("POST", "/v2.1/servers", {"server": {
        "name": "toomany", "flavorRef": "small", "min_count": 50, "max_count": 60}})
    assert refused.status_code == 409 and "No valid host" in refused.text
    after = {s["id"] for s in raw.call("GET", "/v2.1/servers?all_tenants=1").json()["servers"]}
    assert after == before
    assert raw.call("DELETE", "/v2.1/os-quota-sets/admin").status_code == 202


def test_the_files_that_hold_passwords_and_tokens_are_private(tree: TreeRunner) -> None:
    assert tree.api is not None
    for name in ("openrc", "admin-password", "users.json"):
        assert (tree.api.directory / name).stat().st_mode & 0o077 == 0, name

