"""`cellrouter users remove|disable|passwd` and `cellrouter tokens revoke --user`
with the API's config: the tokens end in the API database, where every API
process reads revocations; with --file alone they do not."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.db.schema import open_api_database
from api.identity.cli import CONFIG_VARIABLE
from api.identity.revocation import DatabaseRevocations, user_subject
from api.identity.users import UserStore
from cellops.cli import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "api.toml"
    path.write_text('[api]\nlisten = "127.0.0.1:0"\ntop = "127.0.0.1:1"\n')
    store = UserStore(tmp_path / "users.json")
    store.add("ann", "shop", "member", "pw")
    store.add("ben", "shop", "member", "pw")
    return path


def ended(config: Path, name: str, issued: datetime) -> bool:
    store = UserStore(config.parent / "users.json")
    ident = next((u.id for u in store.users() if u.name == name), name)
    engine = open_api_database(f"sqlite:///{config.parent / 'api.db'}")
    try:
        return DatabaseRevocations(engine).ended([user_subject(ident)], issued)
    finally:
        engine.dispose()


@pytest.mark.parametrize("argv", [
    ("users", "disable", "ann"),
    ("users", "passwd", "ann", "--password-stdin"),
    ("tokens", "revoke", "--user", "ann"),
], ids=["disable", "passwd", "tokens-revoke"])
def test_a_change_with_the_config_ends_the_users_tokens(
        config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: tuple[str, ...]) -> None:
    monkeypatch.setenv(CONFIG_VARIABLE, str(config))  # as api/openrc exports it
    monkeypatch.setattr("sys.stdin", io.StringIO("new-pw\n"))
    before = datetime.now(UTC)
    time.sleep(0.01)
    assert main(list(argv)) == 0, capsys.readouterr().err
    assert "every API process" in capsys.readouterr().out
    assert ended(config, "ann", before)
    assert not ended(config, "ben", before)
    assert not ended(config, "ann", datetime.now(UTC))  # a later login is fine


def test_remove_ends_the_tokens_before_the_user_goes(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ident = next(u.id for u in UserStore(config.parent / "users.json").users() if u.name == "ann")
    before = datetime.now(UTC)
    time.sleep(0.01)
    assert main(["users", "remove", "ann", "--config", str(config)]) == 0
    assert "refused on every API process" in capsys.readouterr().out
    assert ended(config, ident, before)


def test_with_the_file_alone_tokens_are_kept_and_it_says_so(
        config: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(CONFIG_VARIABLE, str(config))  # --file wins over the variable
    assert main(["users", "disable", "ann", "--file", str(config.parent / "users.json")]) == 0
    assert "stay valid until they expire" in capsys.readouterr().out
    assert not (config.parent / "api.db").exists()


def test_tokens_revoke_needs_a_known_user_and_the_config(
        config: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    assert main(["tokens", "revoke", "--user", "ann"]) == 1
    assert "--config" in capsys.readouterr().err
    assert main(["tokens", "revoke", "--user", "nobody", "--config", str(config)]) == 1
    assert "no user named or with the id nobody" in capsys.readouterr().err


def test_users_commands_without_a_file_or_config_say_how(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    assert main(["users", "list"]) == 1
    assert f"give --config API_CONFIG (or set {CONFIG_VARIABLE})" in capsys.readouterr().err
