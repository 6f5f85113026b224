"""With a read-only identity backend (LDAP) every write of Keystone's admin API
and of `cellrouter users` is refused (403, exit 1) and changes nothing, as
Keystone's LDAP driver refuses them; reads, logging out and `cellrouter tokens
revoke --user` still work. The backend here is the users file posing as a
directory (the one flag that matters is `writable`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from api.identity.backends.file import FileBackend
from api.identity.backends.loop import LoopBackend
from api.identity.cli import CONFIG_VARIABLE
from api.identity.routes import MAX_BODY, add_routes
from api.identity.tokens import TokenIssuer
from api.identity.users import User, UserStore
from cellops.cli import main
from tests.unit.api.identity.helpers import call, catalog

PROJECTS = "/identity/v3/projects"
USERS = "/identity/v3/users"


class DirectoryLike(FileBackend):
    name = "ldap"
    external = False  # nothing to check per token here: only writability is tested
    writable = False


def app_over(users: UserStore, issuer: TokenIssuer) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    add_routes(app, users, issuer, catalog, lambda r: str(r.url.origin()),
               LoopBackend(DirectoryLike(users)))
    return app


def writes(alice: User) -> list[tuple[str, str, dict[str, Any] | None]]:
    grant = f"{PROJECTS}/acme/users/{alice.id}/roles"
    return [
        ("POST", USERS, {"user": {"name": "eve", "password": "eve-secret"}}),
        ("DELETE", f"{USERS}/{alice.id}", None),
        ("POST", PROJECTS, {"project": {"name": "new"}}),
        ("DELETE", f"{PROJECTS}/acme", None),
        ("PUT", f"{grant}/admin", None),
        ("DELETE", f"{grant}/member", None),
    ]


WRITE_IDS = ["create-user", "delete-user", "create-project", "delete-project",
             "give-role", "take-role"]


@pytest.mark.parametrize("which", range(6), ids=WRITE_IDS)
def test_every_admin_write_is_403_and_changes_nothing(
        users: UserStore, issuer: TokenIssuer, root: User, alice: User, which: int) -> None:
    method, path, body = writes(alice)[which]
    before = users.path.read_bytes()
    token, _ = issuer.issue(root)
    reply = call(app_over(users, issuer), method, path, json=body,
                 headers={"X-Auth-Token": token})
    assert reply.status == 403, reply.text
    error = reply.json()["error"]
    assert error["code"] == 403 and error["title"] == "Forbidden"
    assert "LDAP directory" in error["message"] and "read" in error["message"]
    assert users.path.read_bytes() == before
    assert issuer.verify(token).user_name == "root"  # nobody's tokens were ended either


def test_a_member_is_still_refused_by_policy_first(
        users: UserStore, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    reply = call(app_over(users, issuer), "POST", USERS, headers={"X-Auth-Token": token},
                 json={"user": {"name": "eve", "password": "eve-secret"}})
    assert reply.status == 403 and "identity:create_user" in reply.json()["error"]["message"]


def test_reads_and_logging_out_still_work(users: UserStore, issuer: TokenIssuer,
                                          root: User) -> None:
    token, _ = issuer.issue(root)
    app = app_over(users, issuer)
    assert call(app, "GET", PROJECTS, headers={"X-Auth-Token": token}).status == 200
    assert call(app_over(users, issuer), "GET", "/identity/v3/role_assignments",
                headers={"X-Auth-Token": token}).status == 200
    reply = call(app_over(users, issuer), "DELETE", "/identity/v3/auth/tokens",
                 headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert reply.status == 204
    assert call(app_over(users, issuer), "GET", PROJECTS,
                headers={"X-Auth-Token": token}).status == 401


# ------------------------------------------------------------ the CLI


@pytest.fixture
def ldap_config(tmp_path: Path) -> Path:
    """An API config whose [identity] is a directory (never contacted here)."""
    path = tmp_path / "api.toml"
    path.write_text('[api]\nlisten = "127.0.0.1:0"\ntop = "127.0.0.1:1"\n\n'
                    '[identity]\nbackend = "ldap"\n\n[identity.ldap]\n'
                    'url = "ldap://127.0.0.1:1"\nuser_tree_dn = "ou=people,dc=x"\n'
                    'group_tree_dn = "ou=groups,dc=x"\n')
    UserStore(tmp_path / "users.json").add("ann", "shop", "member", "pw")
    return path


@pytest.mark.parametrize("argv", [
    ("users", "add", "eve", "--project", "shop", "--password-stdin"),
    ("users", "remove", "ann"),
    ("users", "disable", "ann"),
    ("users", "enable", "ann"),
    ("users", "passwd", "ann", "--password-stdin"),
], ids=["add", "remove", "disable", "enable", "passwd"])
def test_users_commands_refuse_under_ldap_and_change_nothing(
        ldap_config: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    monkeypatch.setenv(CONFIG_VARIABLE, str(ldap_config))
    stdin = io.StringIO("new-pw\n")
    monkeypatch.setattr("sys.stdin", stdin)
    users_file = ldap_config.parent / "users.json"
    before = users_file.read_bytes()
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert err.startswith("cellrouter: ") and "LDAP directory" in err
    assert "Traceback" not in err
    assert users_file.read_bytes() == before
    assert stdin.tell() == 0  # refused before asking for a password
    assert not (ldap_config.parent / "api.db").exists()  # no tokens ended either


def test_tokens_revoke_still_works_under_ldap(
        ldap_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "revoke", "--user", "ann", "--config", str(ldap_config)]) == 0
    assert "revoked on every API process" in capsys.readouterr().out


def test_users_commands_with_the_file_alone_still_write(
        ldap_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    users_file = ldap_config.parent / "users.json"
    assert main(["users", "disable", "ann", "--file", str(users_file)]) == 0
    assert not next(u for u in UserStore(users_file).users() if u.name == "ann").enabled
