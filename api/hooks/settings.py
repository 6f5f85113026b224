"""The API config's tables for web hooks and the events they carry.

    [notifications]                  # the bus the leaves send to (notify.config's
    enabled = true                   # table, as a tree file gives it); without it,
    url = "amqp://guest:guest@127.0.0.1:5672/"   # or with enabled = false, the API
    exchange = "nova"                # consumes nothing: no hooks are delivered and
    routing_key = "versioned_notifications.info" # the dashboard polls

    [hooks]
    queue = "cellrouter-api-hooks"   # the durable queue every API process shares
    single_active_consumer = false   # true: one process records at a time (strict
                                     # order across processes; the others stand by)
    allow_http = false               # true: http:// URLs to any host (a lab's);
                                     # otherwise https://, or http:// to loopback
    max_attempts = 10                # tries of one delivery before it is dead
    first_retry = 1.0                # seconds before the second try; doubled per try
    most_retry = 600.0               # ...up to this
    timeout = 10.0                   # seconds a receiver has to answer one POST
    keep_finished = 604800           # seconds delivered and dead rows are kept
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model.config import ConfigError
from notify.config import NotifyConfig, from_table

DEFAULT_QUEUE = "cellrouter-api-hooks"


@dataclass(frozen=True, slots=True)
class HookSettings:
    queue: str = DEFAULT_QUEUE
    single_active_consumer: bool = False
    allow_http: bool = False
    max_attempts: int = 10
    first_retry: float = 1.0
    most_retry: float = 600.0
    timeout: float = 10.0
    keep_finished: float = 7 * 86400.0

    def retry_after(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed try (1, 2, ...)."""
        return float(min(self.first_retry * 2 ** (attempts - 1), self.most_retry))


_NUMBERS = {"max_attempts": int, "first_retry": float, "most_retry": float, "timeout": float,
            "keep_finished": float}
_FLAGS = ("single_active_consumer", "allow_http")


def hook_settings_of(table: Any, source: str = "API config") -> HookSettings:
    """[hooks] checked; ConfigError saying what is wrong."""
    where = f"{source} [hooks]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - {"queue", *_FLAGS, *_NUMBERS})
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    values: dict[str, Any] = {}
    queue = table.get("queue", DEFAULT_QUEUE)
    if not isinstance(queue, str) or not queue:
        raise ConfigError(f"{where}: queue must be a non-empty string")
    values["queue"] = queue
    for key in _FLAGS:
        if not isinstance(table.get(key, False), bool):
            raise ConfigError(f"{where}: {key} must be true or false")
        values[key] = table.get(key, False)
    for key, kind in _NUMBERS.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or (
                    kind is int and not isinstance(value, int)):
                raise ConfigError(f"{where}: {key} must be a positive number"
                                  + (" (whole)" if kind is int else ""))
            values[key] = kind(value)
    return HookSettings(**values)


def notifications_of(table: Any, source: str = "API config") -> NotifyConfig:
    """The API's [notifications] (off when absent)."""
    return from_table(table if table is not None else {}, source)
