"""[notifications] in a cell's config and a tree file: off by default, checked,
and "when-reachable" decided by asking the broker as the tree starts."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest

from api.config import load_config
from api.hooks.settings import DEFAULT_QUEUE
from cellops.api_process import ApiProcess, ApiSpec
from cellops.tree_files import cell_config, notifications
from cellops.tree_spec import load_tree
from cells.config import from_mapping
from model.config import ConfigError
from notify.config import NotifyConfig, from_table

CELL = {"cell": {"name": "z1", "listen": "127.0.0.1:0", "insecure": True},
        "leaf": {"driver": "fake"}}


def test_off_unless_said() -> None:
    assert from_mapping(CELL).notifications == NotifyConfig(enabled=False)
    on = from_mapping({**CELL, "notifications": {"enabled": True, "exchange": "ops"}})
    assert on.notifications.enabled and on.notifications.exchange == "ops"
    assert on.notifications.routing_key == "versioned_notifications.info"
    assert on.notifications.max_outbox == 100_000


@pytest.mark.parametrize("table, says", [
    ({"enabled": "when-reachable"}, "enabled must be true or false"),
    ({"url": "http://x"}, "url must be amqp://"),
    ({"max_outbox": 0}, "max_outbox must be a positive"),
    ({"exchange": ""}, "exchange must be a non-empty string"),
    ({"topic": "x"}, "unknown keys topic"),
], ids=["when-reachable-in-a-cell", "scheme", "bound", "exchange", "unknown"])
def test_a_wrong_table_says_what_is_wrong(table: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        from_table(table, "cell.toml")


def test_the_password_is_not_shown() -> None:
    assert NotifyConfig(url="amqp://u:secret@h:5672/").shown_url == "amqp://u:***@h:5672/"


def tree_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "tree.toml"
    path.write_text(f"""
[tree]
insecure = true

[notifications]
enabled = "when-reachable"
url = "{url}"

[cells.top]
[cells.z1]
parent = "top"
driver = "fake"
""")
    return path


def test_when_reachable_follows_the_broker(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        spec = load_tree(tree_file(tmp_path, f"amqp://guest:guest@127.0.0.1:{port}/"))
        config, said = notifications(spec)
    assert config.enabled and said.startswith("notifications: on")
    assert "guest:***@" in said
    leaf = cell_config(spec, spec.cells[1], "127.0.0.1:1", "127.0.0.1:2", tmp_path,
                       notify=config)
    assert "[notifications]" in leaf and "enabled = true" in leaf
    top = cell_config(spec, spec.cells[0], "127.0.0.1:2", "", tmp_path, notify=config)
    assert "[notifications]" in top and "enabled = true" in top  # cell.down, cell.up

    spec = load_tree(tree_file(tmp_path, f"amqp://guest:guest@127.0.0.1:{port}/"))
    config, said = notifications(spec)  # nobody listens there now
    assert not config.enabled and "does not answer" in said


def test_the_api_of_a_tree_with_notifications_follows_its_bus(tmp_path: Path) -> None:
    bus = NotifyConfig(True, "amqp://guest:guest@127.0.0.1:5672/", "nova-x")
    api = ApiProcess(ApiSpec(), tmp_path / "api", "127.0.0.1")
    api.prepare(8774, "127.0.0.1:1", {}, None, "", bus)
    config = load_config(tmp_path / "api" / "api.toml")
    assert config.notifications == replace(bus, max_outbox=config.notifications.max_outbox)
    assert config.hooks.queue == api.hooks_queue != DEFAULT_QUEUE
    assert api.hooks_queue.startswith(f"{DEFAULT_QUEUE}.")  # the tree's own
    other = ApiProcess(ApiSpec(), tmp_path / "other" / "api", "127.0.0.1")
    assert other.hooks_queue != api.hooks_queue

    api.prepare(8774, "127.0.0.1:1", {}, None, "", NotifyConfig())  # notifications off
    assert not load_config(tmp_path / "api" / "api.toml").notifications.enabled
