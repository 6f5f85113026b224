"""Tokens end when access ends, on every API process: two `cellrouter api`
processes share one API database; a user is removed, disabled, given a new
password, loses a role, or has a token deleted, through the CLI or the API of
the first, and the second refuses the token within a second (revocations are
re-read at most once a second: api.identity.revocation.REFRESH)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from api.identity.users import UserStore
from tests.integration.api_procs import ApiProc, write_api_config

WITHIN = 1.0  # seconds, as promised
SLACK = 0.3  # the polling and the request itself
CATALOG = "/identity/v3/auth/catalog"  # any valid token may read it


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiProc, ApiProc, Path]]:
    directory = tmp_path_factory.mktemp("two-apis")
    config = write_api_config(directory)
    users = UserStore(directory / "users.json")
    users.add("root", "ops", "admin", "root-password")
    for name in ("ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal", "ida"):
        users.add(name, "shop", "member", f"{name}-password")
    first, second = ApiProc(config), ApiProc(config)
    yield first, second, config
    first.stop()
    second.stop()


def cellrouter(config: Path, *args: str, stdin: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if k != "CELLROUTER_API_CONFIG"}
    env["CELLROUTER_API_CONFIG"] = str(config)  # as api/openrc exports it
    done = subprocess.run([sys.executable, "-m", "cellops.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused_within(api: ApiProc, token: str, start: float) -> float:
    """Seconds from `start` (monotonic) until `api` refuses `token` (401)."""
    while time.monotonic() - start < 5:
        status = api.get(CATALOG, token).status_code
        if status == 401:
            return time.monotonic() - start
        assert status == 200
        time.sleep(0.02)
    raise AssertionError("the token was never refused")


def admin_api(api: ApiProc, method: str, path: str) -> requests.Response:
    token = api.token("root", "root-password")
    return requests.request(method, f"{api.url}{path}", headers={"X-Auth-Token": token},
                            timeout=30)


def user_id(config: Path, name: str) -> str:
    return next(u.id for u in UserStore(config.parent / "users.json").users() if u.name == name)


def _remove(config: Path, first: ApiProc) -> None:
    assert "refused on every API process" in cellrouter(config, "users", "remove", "ann")


def _disable(config: Path, first: ApiProc) -> None:
    assert "disabled" in cellrouter(config, "users", "disable", "ben")


def _passwd(config: Path, first: ApiProc) -> None:
    cellrouter(config, "users", "passwd", "cat", "--password-stdin", stdin="new-password\n")


def _role_taken(config: Path, first: ApiProc) -> None:
    path = f"/identity/v3/projects/shop/users/{user_id(config, 'dan')}/roles/member"
    assert admin_api(first, "DELETE", path).status_code == 204


def _revoke_user(config: Path, first: ApiProc) -> None:
    assert "revoked on every API process" in cellrouter(config, "tokens", "revoke",
                                                        "--user", "eve")


CHANGES: dict[str, tuple[str, Callable[[Path, ApiProc], None]]] = {
    "removed": ("ann", _remove),
    "disabled": ("ben", _disable),
    "password-changed": ("cat", _passwd),
    "role-taken": ("dan", _role_taken),
    "tokens-revoke-user": ("eve", _revoke_user),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_a_token_is_refused_on_the_other_process_within_a_second(
        two: tuple[ApiProc, ApiProc, Path], change: str) -> None:
    first, second, config = two
    name, act = CHANGES[change]
    token = first.token(name, f"{name}-password")
    assert second.get(CATALOG, token).status_code == 200  # verified there, and cached
    act(config, first)
    done = time.monotonic()
    assert refused_within(second, token, done) <= WITHIN + SLACK
    assert refused_within(first, token, done) <= WITHIN + SLACK  # each reads on its own


def test_a_deleted_token_is_refused_on_the_other_process_within_a_second(
        two: tuple[ApiProc, ApiProc, Path]) -> None:
    first, second, _ = two
    token = first.token("fay", "fay-password")
    kept = first.token("fay", "fay-password")
    assert second.get(CATALOG, token).status_code == 200
    deleted = requests.delete(f"{first.url}/identity/v3/auth/tokens", timeout=30,
                              headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert deleted.status_code == 204
    assert refused_within(second, token, time.monotonic()) <= WITHIN + SLACK
    assert second.get(CATALOG, kept).status_code == 200  # that token only


def test_after_a_change_the_user_logs_in_as_it_allows(
        two: tuple[ApiProc, ApiProc, Path]) -> None:
    first, second, config = two
    cellrouter(config, "users", "disable", "gus")
    assert second.login("gus", "gus-password").status_code == 401
    cellrouter(config, "users", "enable", "gus")
    assert second.get(CATALOG, second.token("gus", "gus-password")).status_code == 200
    cellrouter(config, "users", "passwd", "hal", "--password-stdin", stdin="new-password\n")
    assert second.login("hal", "hal-password").status_code == 401  # the old password
    fresh = second.token("hal", "new-password")  # issued after the change: valid
    assert first.get(CATALOG, fresh).status_code == 200
    cellrouter(config, "users", "remove", "ida")
    assert second.login("ida", "ida-password").status_code == 401
