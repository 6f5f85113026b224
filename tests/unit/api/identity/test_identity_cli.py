"""Tests for api.identity.cli: `cellrouter users` and `cellrouter api-keys`."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from api.identity import cli
from api.identity.keys import KeyRepository
from api.identity.users import UserStore


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cellrouter")
    cli.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_users_add_list_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    file = str(tmp_path / "users.json")
    stdin(monkeypatch, "s3cret pass\n")
    assert run("users", "add", "alice", "--project", "acme", "--file", file,
               "--password-stdin") == 0
    assert capsys.readouterr().out == "user alice added to project acme as member\n"
    assert UserStore(Path(file)).authenticate("alice", "s3cret pass").role == "member"

    assert run("users", "list", "--file", file) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["NAME", "PROJECT", "ROLE", "ID"]
    assert row.split()[:3] == ["alice", "acme", "member"]
    assert "scrypt" not in row

    assert run("users", "remove", "alice", "--file", file) == 0
    assert "user alice removed" in capsys.readouterr().out
    assert UserStore(Path(file)).users() == []


def test_users_add_asks_twice_without_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter(["one", "two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    file = str(tmp_path / "users.json")
    assert run("users", "add", "root", "--project", "ops", "--role", "admin",
               "--file", file) == 1
    err = capsys.readouterr().err
    assert err == "cellrouter: the two passwords differ; nothing was changed\n"
    assert "one" not in err and not Path(file).exists()


@pytest.mark.parametrize(("argv", "says"), [
    (("users", "add", "alice", "--project", "acme", "--password-stdin"), "there is a user"),
    (("users", "add", "bad name", "--project", "acme", "--password-stdin"), "a user name"),
    (("users", "remove", "nobody"), "there is no user named nobody"),
], ids=["duplicate", "bad-name", "unknown"])
def test_users_errors_are_one_line_and_status_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: tuple[str, ...], says: str) -> None:
    file = tmp_path / "users.json"
    UserStore(file).add("alice", "acme", "member", "pw")
    stdin(monkeypatch, "pw\n")
    assert run(*argv, "--file", str(file)) == 1
    err = capsys.readouterr().err
    assert err.startswith("cellrouter: ") and says in err and err.count("\n") == 1


def test_api_keys_init_and_rotate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = str(tmp_path / "keys")
    assert run("api-keys", "init", "--dir", directory) == 0
    assert "key 1 is the primary" in capsys.readouterr().out
    assert run("api-keys", "init", "--dir", directory) == 0
    assert "already has keys" in capsys.readouterr().out
    assert run("api-keys", "rotate", "--dir", directory) == 0
    assert run("api-keys", "rotate", "--dir", directory) == 0
    assert "key 3 is the primary now; 3 keys kept" in capsys.readouterr().out.splitlines()[-1]
    assert KeyRepository(Path(directory)).keys() == [0, 2, 3]


def test_api_keys_rotate_without_keys_says_to_init(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("api-keys", "rotate", "--dir", str(tmp_path / "none")) == 1
    assert "run `cellrouter api-keys init --dir" in capsys.readouterr().err
