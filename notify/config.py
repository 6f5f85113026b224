"""The [notifications] table of a cell's config (and of a tree file, which
`cellrouter up` hands to every leaf):

    [notifications]
    enabled = false                   # off unless said; a tree file may say
                                      # "when-reachable": on if the broker answers
                                      # when `cellrouter up` starts the tree
    url = "amqp://guest:guest@127.0.0.1:5672/"
    exchange = "nova"                 # a topic exchange (declared if missing)
    routing_key = "versioned_notifications.info"
    max_outbox = 100000               # rows the outbox holds while the bus is down;
                                      # events beyond it are refused and counted
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from model.config import ConfigError

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_EXCHANGE = "nova"
DEFAULT_ROUTING_KEY = "versioned_notifications.info"
DEFAULT_MAX_OUTBOX = 100_000
WHEN_REACHABLE = "when-reachable"
KEYS = {"enabled", "url", "exchange", "routing_key", "max_outbox"}


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    enabled: bool = False
    url: str = DEFAULT_URL
    exchange: str = DEFAULT_EXCHANGE
    routing_key: str = DEFAULT_ROUTING_KEY
    max_outbox: int = DEFAULT_MAX_OUTBOX

    @property
    def shown_url(self) -> str:
        """The URL without its password, for logs."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        return self.url.replace(f":{parts.password}@", ":***@", 1)


def from_table(table: Any, source: str, tree: bool = False) -> NotifyConfig:
    """[notifications] checked; ConfigError saying what is wrong. In a tree
    file (`tree`), enabled may be WHEN_REACHABLE (then read as true)."""
    where = f"{source} [notifications]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    enabled = table.get("enabled", False)
    if not isinstance(enabled, bool) and not (tree and enabled == WHEN_REACHABLE):
        allowed = f'true, false or "{WHEN_REACHABLE}"' if tree else "true or false"
        raise ConfigError(f"{where}: enabled must be {allowed}, not {enabled!r}")
    texts = {key: table.get(key, default) for key, default in (
        ("url", DEFAULT_URL), ("exchange", DEFAULT_EXCHANGE),
        ("routing_key", DEFAULT_ROUTING_KEY))}
    for key, value in texts.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {key} must be a non-empty string")
    if urlsplit(texts["url"]).scheme not in ("amqp", "amqps"):
        raise ConfigError(f"{where}: url must be amqp://... or amqps://...")
    bound = table.get("max_outbox", DEFAULT_MAX_OUTBOX)
    if isinstance(bound, bool) or not isinstance(bound, int) or bound <= 0:
        raise ConfigError(f"{where}: max_outbox must be a positive whole number")
    return NotifyConfig(bool(enabled), texts["url"], texts["exchange"], texts["routing_key"],
                        bound)


def reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections where `url` points."""
    parts = urlsplit(url)
    port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout):
            return True
    except OSError:
        return False


def as_toml_table(config: NotifyConfig) -> dict[str, Any]:
    """The table a cell's config file gets for `config`."""
    return {"enabled": config.enabled, "url": config.url, "exchange": config.exchange,
            "routing_key": config.routing_key, "max_outbox": config.max_outbox}
