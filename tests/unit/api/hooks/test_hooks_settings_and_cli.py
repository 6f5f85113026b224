"""The API config's [notifications] and [hooks], and `cellrouter hooks` on the
database that config names."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import load_config
from api.db.schema import open_api_database
from api.hooks.deliveries import DeliveryStore, HookEvent
from api.hooks.settings import HookSettings
from cellops.cli import main
from model.config import ConfigError

BASE = '[api]\nlisten = "127.0.0.1:0"\ntop = "127.0.0.1:1"\n'


def config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "api.toml"
    path.write_text(BASE + extra)
    return path


def test_without_notifications_they_are_off_and_the_hooks_have_defaults(
        tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path))
    assert not config.notifications.enabled
    assert config.hooks == HookSettings()


def test_notifications_and_hooks_are_read(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, """
[notifications]
enabled = true
url = "amqp://guest:guest@10.0.0.1:5672/"
exchange = "region"

[hooks]
queue = "q1"
allow_http = true
max_attempts = 4
first_retry = 0.5
"""))
    assert (config.notifications.enabled, config.notifications.exchange) == (True, "region")
    assert (config.hooks.queue, config.hooks.allow_http, config.hooks.max_attempts) == (
        "q1", True, 4)
    assert [config.hooks.retry_after(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert HookSettings(first_retry=100, most_retry=300).retry_after(5) == 300


@pytest.mark.parametrize("table", [
    "[hooks]\ncolour = 1", "[hooks]\nmax_attempts = 0", "[hooks]\nmax_attempts = 1.5",
    "[hooks]\nallow_http = 1", "[hooks]\nqueue = ''", "[notifications]\nenabled = 'yes'",
    "[notifications]\nurl = 'http://x'",
], ids=["unknown", "zero", "fraction", "flag", "queue", "enabled", "url"])
def test_a_bad_table_is_refused_at_start(tmp_path: Path, table: str) -> None:
    with pytest.raises(ConfigError):
        load_config(config_file(tmp_path, table))


def test_operators_add_list_and_remove_subscriptions_with_the_cli(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(config_file(tmp_path))
    assert main(["hooks", "add", "https://hooks.example.com/in", "--event", "instance.*.end",
                 "--project", "shop", "--config", config]) == 0
    said = capsys.readouterr().out
    ident = said.split()[1]
    secret = said.split("secret (shown this once): ")[1].strip()
    assert len(secret) >= 32
    assert main(["hooks", "list", "--config", config]) == 0
    listed = capsys.readouterr().out
    assert ident in listed and "instance.*.end" in listed and secret not in listed
    store = DeliveryStore(open_api_database(f"sqlite:///{tmp_path / 'api.db'}"),
                          HookSettings())
    store.record(HookEvent("m-1", "instance.pause.end", "shop", b"{}"))
    assert main(["hooks", "deliveries", "--config", config]) == 0
    rows = capsys.readouterr().out
    assert "m-1" in rows and "pending" in rows
    assert main(["hooks", "remove", ident, "--config", config]) == 0
    assert main(["hooks", "remove", ident, "--config", config]) == 1
    assert "no subscription" in capsys.readouterr().err


def test_the_cli_refuses_a_bad_url_and_reads_a_secret_from_stdin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = str(config_file(tmp_path))
    assert main(["hooks", "add", "http://hooks.example.com/", "--config", config]) == 1
    assert "https://" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", _Lines("the-receivers-own-secret\n"))
    assert main(["hooks", "add", "http://127.0.0.1:8080/", "--secret-stdin",
                 "--config", config]) == 0
    assert "secret" not in capsys.readouterr().out.split("added")[1]


class _Lines:
    def __init__(self, text: str) -> None:
        self._text = text

    def readline(self) -> str:
        return self._text

