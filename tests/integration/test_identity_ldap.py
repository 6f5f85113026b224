"""Identity from a real OpenLDAP directory (tests/integration/slapd.py): one slapd
for the module, an API process whose [identity] reads it over StartTLS, and the
tree with the API for the clients' run.

Covered: a directory user's login (project and role from groups), losing admin
within the cache bound when taken out of the admin group, a wrong password, an
LDAP injection in the name, failed logins throttled, StartTLS against a
certificate from another CA refused, openstacksdk and the `openstack` CLI
logging in as directory users and booting a server through the tree, and the
directory going down (503 for logins, verified tokens kept within the bound),
a password changed in the directory ending older tokens within the bound, and
every identity write (admin API, `cellrouter users`) refused with 403 / exit 1
as the directory is read-only, while revoking tokens still works; Keystone's
admin reads (users, ?name=, a user's projects, role assignments, grant checks)
and `cellrouter users list` showing the directory's users, never the users
file's, and a listing bounded by list_limit and narrowed by user_filter.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import openstack
import pytest
import requests

from api.identity.backends.ldap import LdapBackend
from api.identity.backends.settings import LdapSettings, identity_settings_of
from api.identity.errors import DirectoryUnavailable, Unauthorized
from api.identity.users import User, UserStore
from cellops import certs
from cellops.cli import main
from cellops.tree import TreeRunner
from tests.integration.api_procs import ApiProc, write_api_config
from tests.integration.openstack_tree import OPENSTACK, start_api_tree
from tests.integration.slapd import USERS as DIRECTORY_USERS
from tests.integration.slapd import Slapd, ldap_config, require_slapd

BOUND = 2.0  # [identity] cache_seconds of these tests' API processes
SLACK = 1.0  # polling, a request, a search
PROJECTS = "/identity/v3/projects"  # admins only
CATALOG = "/identity/v3/auth/catalog"  # any valid token
USERS = "/identity/v3/users"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    require_slapd()
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    server.start()
    server.seed()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(slapd: Slapd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProc]:
    config = write_api_config(tmp_path_factory.mktemp("api-ldap"),
                              ldap_config(slapd, cache_seconds=BOUND, failed_logins_per_user=3))
    proc = ApiProc(config)
    yield proc
    proc.stop()


def roles(answer_json: dict[str, object]) -> set[str]:
    token = answer_json["token"]
    assert isinstance(token, dict)
    return {r["name"] for r in token["roles"]}


def test_a_directory_user_gets_project_and_role_from_groups(api: ApiProc) -> None:
    carol = api.login("carol", "carol-password")
    assert carol.status_code == 201, carol.text
    body = carol.json()
    assert body["token"]["project"]["name"] == "ops" and "admin" in roles(body)
    shop = api.login("carol", "carol-password", "shop").json()
    assert shop["token"]["project"]["id"] == "shop" and roles(shop) == {"member", "reader"}
    hal = api.login("hal", "hal-password").json()
    assert hal["token"]["project"]["name"] == "lab" and roles(hal) == {"reader"}
    assert api.login("dave", "dave-password", "ops").status_code == 401  # not in its group
    assert api.get(PROJECTS, api.token("carol", "carol-password")).status_code == 200


def test_a_wrong_password_is_401(api: ApiProc) -> None:
    answer = api.login("dave", "not-dave's")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == 401
    assert api.login("dave", "").status_code in (400, 401)  # never an anonymous bind


def test_identity_writes_are_refused_as_the_directory_is_read_only(
        api: ApiProc, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    admin = api.token("carol", "carol-password", "ops")
    grant = f"{PROJECTS}/shop/users/dave/roles"
    for method, path, body in [
            ("POST", USERS, {"user": {"name": "eve", "password": "eve-password"}}),
            ("DELETE", f"{USERS}/dave", None),
            ("POST", PROJECTS, {"project": {"name": "new"}}),
            ("DELETE", f"{PROJECTS}/shop", None),
            ("PUT", f"{grant}/admin", None),
            ("DELETE", f"{grant}/member", None)]:
        answer = requests.request(method, f"{api.url}{path}", json=body, timeout=30,
                                  headers={"X-Auth-Token": admin})
        assert answer.status_code == 403, (method, path, answer.text)
        error = answer.json()["error"]
        assert error["title"] == "Forbidden" and "LDAP directory" in error["message"]
    dave = api.login("dave", "dave-password", "shop")  # nothing changed
    assert dave.status_code == 201 and roles(dave.json()) == {"member", "reader"}
    config = str(api.log.parent / "api.toml")
    monkeypatch.setattr("sys.stdin", io.StringIO("eve-password\n"))
    assert main(["users", "add", "eve", "--project", "shop", "--password-stdin",
                 "--config", config]) == 1
    assert "LDAP directory" in capsys.readouterr().err
    token = dave.headers["X-Subject-Token"]
    assert main(["tokens", "revoke", "--user", "dave", "--config", config]) == 0
    start = time.monotonic()  # revocation works as ever: read within REFRESH (1 s)
    while api.get(CATALOG, token).status_code == 200:
        assert time.monotonic() - start < 1 + SLACK, "dave's token still valid"
        time.sleep(0.05)
    assert api.get(CATALOG, token).status_code == 401
    mine = api.token("carol", "carol-password", "shop")
    logout = requests.delete(f"{api.url}/identity/v3/auth/tokens", timeout=30,
                             headers={"X-Auth-Token": mine, "X-Subject-Token": mine})
    assert logout.status_code == 204 and api.get(CATALOG, mine).status_code == 401


def file_only_user(api: ApiProc) -> User:
    """zed, in the API's users file (which the LDAP backend never reads) only."""
    store = UserStore(api.log.parent / "users.json")
    found = next((u for u in store.users() if u.name == "zed"), None)
    return found or store.add("zed", "shop", "admin", "zed-password")


def test_the_admin_reads_show_the_directorys_users(api: ApiProc) -> None:
    zed = file_only_user(api)
    login = api.login("carol", "carol-password", "ops")
    admin = login.headers["X-Subject-Token"]
    listed = api.get(USERS, admin).json()
    assert sorted(u["name"] for u in listed["users"]) == sorted(DIRECTORY_USERS)
    carol = next(u for u in listed["users"] if u["name"] == "carol")
    assert carol["id"] == login.json()["token"]["user"]["id"]  # as her tokens carry it
    assert carol["domain_id"] == "default" and carol["enabled"] is True
    assert carol["links"]["self"].endswith(f"{USERS}/{carol['id']}")
    assert "truncated" not in listed
    dave = api.get(f"{USERS}?name=dave", admin).json()["users"]
    assert [(u["id"], u.get("default_project_id")) for u in dave] == [("dave", "shop")]
    assert api.get(f"{USERS}?name=zed", admin).json()["users"] == []
    assert api.get(f"{USERS}/hal", admin).json()["user"]["name"] == "hal"
    assert api.get(f"{USERS}/{zed.id}", admin).status_code == 404
    projects = api.get(f"{USERS}/carol/projects", admin).json()["projects"]
    assert sorted(p["id"] for p in projects) == ["ops", "shop"]  # her groups, mapped
    assert [p["id"] for p in api.get(f"{USERS}/hal/projects", admin).json()["projects"]] == [
        "lab"]
    assigned = api.get("/identity/v3/role_assignments?user.id=carol", admin).json()
    assert sorted((a["scope"]["project"]["id"], a["role"]["id"])
                  for a in assigned["role_assignments"]) == [("ops", "admin"),
                                                             ("shop", "member")]
    everyone = api.get("/identity/v3/role_assignments", admin).json()["role_assignments"]
    assert zed.id not in {a["user"]["id"] for a in everyone}
    assert ("hal", "lab", "reader") in {
        (a["user"]["id"], a["scope"]["project"]["id"], a["role"]["id"]) for a in everyone}
    grant = f"{api.url}{PROJECTS}/lab/users/hal/roles/reader"
    for method in ("GET", "HEAD"):
        answer = requests.request(method, grant, headers={"X-Auth-Token": admin}, timeout=30)
        assert answer.status_code == 204, (method, answer.text)
    assert api.get(f"{PROJECTS}/shop/users/hal/roles/reader", admin).status_code == 404


def test_cellrouter_users_list_with_the_ldap_config_shows_the_directorys_users(
        api: ApiProc, capsys: pytest.CaptureFixture[str]) -> None:
    zed = file_only_user(api)
    capsys.readouterr()
    assert main(["users", "list", "--config", str(api.log.parent / "api.toml")]) == 0
    rows = {tuple(line.split()) for line in capsys.readouterr().out.splitlines()[1:]}
    assert {("carol", "ops", "admin", "carol"), ("carol", "shop", "member", "carol"),
            ("hal", "lab", "reader", "hal")} <= rows
    assert {row[0] for row in rows} == set(DIRECTORY_USERS)
    assert zed.id not in capsys.readouterr().out


def test_a_listing_is_bounded_and_narrowed_by_the_user_filter(slapd: Slapd) -> None:
    settings = _settings(slapd)
    assert isinstance(settings, LdapSettings)
    bounded = LdapBackend(replace(settings, list_limit=2))
    listing = bounded.users()
    assert len(listing.found) == 2 and listing.truncated
    bounded.close()
    narrowed = LdapBackend(replace(settings, user_filter="(|(uid=carol)(uid=hal))"))
    listing = narrowed.users()
    assert sorted(a.user.name for a in listing.found if a.user) == ["carol", "hal"]
    assert not listing.truncated
    assert narrowed.user_by_name("dave").user is None
    with pytest.raises(Unauthorized):
        narrowed.authenticate("dave", "dave-password")
    assert narrowed.user_by_name("hal").grants[0].project_id == "lab"
    narrowed.close()


class CountingBackend(LdapBackend):
    """The LDAP backend, counting the searches it makes."""

    searches = 0

    def _search(self, *args: Any, **kwargs: Any) -> Any:
        self.searches += 1
        return super()._search(*args, **kwargs)


def test_a_listing_reads_the_groups_once_and_grants_as_lookups_do(slapd: Slapd) -> None:
    settings = _settings(slapd)
    assert isinstance(settings, LdapSettings)
    lister, looker = CountingBackend(settings), LdapBackend(settings)
    try:
        listed = {a.user.name: a.grants for a in lister.users().found if a.user}
        assert lister.searches == 2  # the users, then the mapped groups' members
        assert sorted(listed) == sorted(DIRECTORY_USERS)
        assert listed == {name: looker.user_by_name(name).grants for name in listed}
        assert any(len(grants) > 1 for grants in listed.values())  # carol: two projects
    finally:
        lister.close()
        looker.close()


@pytest.mark.parametrize("name", ["*)(uid=*", "*", "carol)(uid=*", "carol*", "\\2a"])
def test_an_injection_in_the_name_finds_nobody(api: ApiProc, slapd: Slapd, name: str) -> None:
    assert api.login(name, "carol-password").status_code == 401
    backend = LdapBackend(_settings(slapd))
    assert backend.account(name).user is None
    backend.close()


def test_failed_logins_are_throttled_with_retry_after(api: ApiProc) -> None:
    for _ in range(3):
        assert api.login("hal", "wrong").status_code == 401
    answer = api.login("hal", "hal-password")  # the right one, too late
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json()["error"] == {"code": 429, "title": "Too Many Requests",
                                      "message": answer.json()["error"]["message"]}
    assert api.login("dave", "dave-password").status_code == 201  # someone else may


def test_taken_out_of_the_admin_group_loses_admin_within_the_bound(
        api: ApiProc, slapd: Slapd) -> None:
    token = api.token("gina", "gina-password", "ops")
    assert api.get(PROJECTS, token).status_code == 200
    slapd.set_members("cloud-admins", "delete", "gina")
    try:
        start = time.monotonic()
        while api.get(PROJECTS, token).status_code == 200:
            assert time.monotonic() - start < BOUND + SLACK, "still admin past the bound"
            time.sleep(0.05)
        assert api.get(PROJECTS, token).status_code == 401
        assert api.login("gina", "gina-password", "ops").status_code == 401
        member = api.token("gina", "gina-password")  # now shop's member only
        assert api.get(PROJECTS, member).status_code == 403
    finally:
        slapd.set_members("cloud-admins", "add", "gina")


def test_a_password_changed_in_the_directory_ends_older_tokens_within_the_bound(
        api: ApiProc, slapd: Slapd) -> None:
    token = api.token("ivy", "ivy-password")
    assert api.get(CATALOG, token).status_code == 200
    slapd.set_password("ivy", "ivy-new-password")
    start = time.monotonic()
    while api.get(CATALOG, token).status_code == 200:
        assert time.monotonic() - start < BOUND + SLACK, "still valid past the bound"
        time.sleep(0.05)
    assert api.login("ivy", "ivy-password").status_code == 401
    time.sleep(1.01 - time.time() % 1)  # pwdChangedTime is whole seconds
    fresh = api.token("ivy", "ivy-new-password")
    assert api.get(CATALOG, fresh).status_code == 200


def test_starttls_with_a_certificate_of_another_ca_is_refused(
        slapd: Slapd, tmp_path: Path) -> None:
    trusted = LdapBackend(_settings(slapd))
    assert trusted.authenticate("dave", "dave-password").project == "shop"
    trusted.close()
    other = certs.init_ca(tmp_path / "other", "another CA").cert
    doubting = LdapBackend(_settings(slapd, other))
    with pytest.raises(DirectoryUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        doubting.authenticate("dave", "dave-password")


def test_openstacksdk_and_the_cli_log_in_as_directory_users(api: ApiProc) -> None:
    conn = openstack.connect(auth_url=f"{api.url}/identity", username="carol",
                             password="carol-password", project_name="shop",
                             user_domain_name="Default", project_domain_name="Default")
    assert conn.current_project_id == "shop"
    assert conn.identity.get_project("shop").name == "shop"  # a member sees their own
    issued = json.loads(_openstack(api.url, "dave", "dave-password", "shop",
                                   "token", "issue", "-f", "json").stdout)
    assert issued["project_id"] == "shop" and issued["user_id"] == "dave"


def test_a_directory_user_boots_a_server_through_the_tree(
        slapd: Slapd, tmp_path: Path) -> None:
    runner = _ldap_tree(tmp_path, slapd)
    try:
        assert runner.api is not None
        created = json.loads(_openstack(
            runner.api.url, "dave", "dave-password", "shop", "server", "create",
            "--flavor", "small", "--image", "debian-12", "--nic", "none", "--wait",
            "-f", "json", "ldap-web-1").stdout)
        assert created["status"] == "ACTIVE"
        listed = json.loads(_openstack(runner.api.url, "carol", "carol-password", "shop",
                                       "server", "list", "-f", "json").stdout)
        assert [s["Name"] for s in listed] == ["ldap-web-1"]  # the same project's
    finally:
        runner.stop()


def test_the_directory_down_is_503_for_logins_and_keeps_verified_tokens(
        api: ApiProc, slapd: Slapd) -> None:
    token = api.token("dave", "dave-password")
    assert api.get(CATALOG, token).status_code == 200  # verified: the answer is kept
    slapd.stop()
    try:
        down_at = time.monotonic()
        answer = api.login("dave", "dave-password")
        assert answer.status_code == 503 and answer.json()["error"]["code"] == 503
        assert api.get(CATALOG, token).status_code == 200  # within the bound
        assert time.monotonic() - down_at < BOUND
        time.sleep(BOUND + 0.2)
        assert api.get(CATALOG, token).status_code == 503  # unknown now, not "invalid"
    finally:
        slapd.start()
    start = time.monotonic()  # back once the backend tries again (RETRY_AFTER_FAILURE)
    while (status := api.login("dave", "dave-password").status_code) == 503:
        assert time.monotonic() - start < 5, "the directory is back, logins are not"
        time.sleep(0.1)
    assert status == 201


def _settings(slapd: Slapd, ca: Path | None = None) -> object:
    settings = identity_settings_of(tomllib.loads(ldap_config(slapd, ca))["identity"],
                                    Path("/"))
    assert settings.ldap is not None
    return settings.ldap


def _openstack(url: str, user: str, password: str, project: str,
               *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")} | {
        "OS_AUTH_URL": f"{url}/identity", "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": user, "OS_PASSWORD": password, "OS_PROJECT_NAME": project,
        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "public"}
    done = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def _ldap_tree(tmp: Path, slapd: Slapd) -> TreeRunner:
    """The tree with its API, whose config then reads the directory (restarted)."""
    runner = start_api_tree(tmp)
    assert runner.api is not None
    config = runner.api.directory / "api.toml"
    config.write_text(config.read_text() + ldap_config(slapd, cache_seconds=BOUND))
    runner.api.stop()
    runner.api.start(runner.log_level)
    return runner
