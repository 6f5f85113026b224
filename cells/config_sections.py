"""The sections of a cell's config file (cells.config), each read and checked
by one function here, and the readers of single values they share. Every
function raises ConfigError saying where the config is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bestmatch.pipeline import Sampling
from bestmatch.plugins import SelectionConfig
from cells.security.limits import Limits
from cellwire.tls import TlsConfig
from model.agents import Failover
from model.cells import AGENTS_ONLY
from model.compute import Resources
from model.config import ConfigError

CLIENT_AUTH = ("token", "none")  # the values of [cell] client_auth
_LEAF_KEYS = {"driver", "selector", "hosts"}
_AGENTS_KEYS = {"down_after", "failover", "failover_threshold", "filters", "options",
                "allowed"}


@dataclass(frozen=True, slots=True)
class LeafConfig:
    driver: str = "fake"
    selector: str = "random"
    hosts: tuple[Mapping[str, Any], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shown_as(self) -> str:
        """The driver the topology names for this leaf: its own, or AGENTS_ONLY
        for a fake leaf given no hosts (there for agents only)."""
        return AGENTS_ONLY if self.driver == "fake" and not self.hosts else self.driver



def security(data: Mapping[str, Any], cell: Mapping[str, Any],
             source: str) -> tuple[TlsConfig | None, Path | None]:
    """[tls] and [auth]; plaintext only when the config says insecure = true."""
    insecure = optional(cell, "insecure", bool, False, source)
    tls = TlsConfig.from_table(data["tls"], source) if "tls" in data else None
    if tls is None and not insecure:
        raise ConfigError(f"{source}: give a [tls] table (ca_file, cert_file, key_file), or"
                          " set insecure = true in [cell] to run without TLS")
    if tls is not None and insecure:
        raise ConfigError(f"{source}: insecure = true contradicts the [tls] table")
    auth = data.get("auth")
    if auth is None:
        return tls, None
    if not isinstance(auth, Mapping):
        raise ConfigError(f"{source}: [auth] must be a table")
    no_unknown(auth, {"tokens_file"}, f"{source} [auth]")
    return tls, Path(required(auth, "tokens_file", str, f"{source} [auth]"))


def client_auth(cell: Mapping[str, Any], client_listen: str, has_auth: bool,
                source: str) -> str:
    """[cell] client_auth, checked against client_listen and [auth]: a client
    port asks for tokens unless the config says "none" in so many words."""
    chosen: str = optional(cell, "client_auth", str, "token", source)
    if chosen not in CLIENT_AUTH:
        raise ConfigError(f"{source}: client_auth must be \"token\" or \"none\","
                          f" not {chosen!r}")
    if has_auth and not client_listen:
        raise ConfigError(f"{source}: [auth] needs client_listen, the port where clients"
                          " present their tokens (the cells' own port has none)")
    if has_auth and chosen == "none":
        raise ConfigError(f"{source}: client_auth = \"none\" contradicts the [auth] table"
                          " (tokens on the client port); keep one of the two")
    if client_listen and not has_auth and chosen == "token":
        raise ConfigError(f"{source}: client_listen needs token auth: give an [auth] table"
                          " with tokens_file (made by `cellrouter tokens issue`), or set"
                          ' client_auth = "none" in [cell] to serve the client port to anyone'
                          " who reaches it, as admin")
    return chosen


def patterns(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    """A list of names or fnmatch patterns; None when the key is absent."""
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key} must be a list of names or patterns, as"
                          ' ["eu-a", "eu-*"]')
    return tuple(value)


def limits(table: Any, source: str) -> Limits:
    where = f"{source} [limits]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    no_unknown(table, {"max_in_flight_per_client", "requests_per_second_per_client",
                        "burst_per_client", "requests_per_second_per_member",
                        "burst_per_member", "max_concurrent_rpcs"}, where)
    return Limits(
        max_in_flight_per_client=count(table, "max_in_flight_per_client", 64, where),
        requests_per_second_per_client=_rate(table, "requests_per_second_per_client", 0, where),
        burst_per_client=_whole(table, "burst_per_client", where),
        requests_per_second_per_member=_rate(table, "requests_per_second_per_member", 100,
                                             where),
        burst_per_member=_whole(table, "burst_per_member", where),
        max_concurrent_rpcs=count(table, "max_concurrent_rpcs", 2000, where),
    )


def agents(table: Any, source: str) -> dict[str, Any]:
    """[agents], as the CellConfig fields it sets."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [agents] must be a table")
    no_unknown(table, _AGENTS_KEYS, f"{source} [agents]")
    filters = table.get("filters", [])
    options = table.get("options", {})
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise ConfigError(f"{source} [agents]: filters must be a list of filter names")
    if not isinstance(options, Mapping) or not all(
            isinstance(v, Mapping) for v in options.values()):
        raise ConfigError(f"{source} [agents]: options must be tables, one per filter")
    return {
        "agent_down_after": positive(table, "down_after", 30.0, source),
        "agent_failover": Failover(optional(table, "failover", bool, False, source),
                                   count(table, "failover_threshold", 3, source)),
        "agent_ids": patterns(table, "allowed", f"{source} [agents]"),
        "agent_filters": tuple(filters),
        "agent_filter_options": {k: dict(v) for k, v in options.items()},
    }


def _rate(table: Mapping[str, Any], key: str, default: float, where: str) -> float:
    rate = table.get(key, default)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
        raise ConfigError(f"{where}: '{key}' must be a number >= 0")
    return float(rate)


def _whole(table: Mapping[str, Any], key: str, where: str) -> int:
    value = table.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: '{key}' must be a whole number >= 0")
    return value


def flavors(table: Any, source: str) -> dict[str, Resources]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [flavors] must be a table")
    flavors = {}
    for name, size in table.items():
        where = f"{source} [flavors] {name}"
        if not isinstance(size, Mapping):
            raise ConfigError(f"{where}: give {{ vcpus = N, memory_mb = M, disk_gb = G }}")
        no_unknown(size, {"vcpus", "memory_mb", "disk_gb"}, where)
        flavors[str(name)] = Resources(
            count(size, "vcpus", 1, where),
            count(size, "memory_mb", 1, where),
            int(size.get("disk_gb", 0)) if isinstance(size.get("disk_gb", 0), int) else -1,
        )
        if flavors[str(name)].disk_gb < 0:
            raise ConfigError(f"{where}: disk_gb must be a whole number >= 0")
    return flavors


def leaf_section(table: Any, source: str) -> LeafConfig | None:
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [leaf] must be a table")
    hosts = table.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, Mapping) for h in hosts):
        raise ConfigError(f"{source}: leaf.hosts must be a list of tables")
    options = {k: v for k, v in table.items() if k not in _LEAF_KEYS}
    return LeafConfig(
        driver=optional(table, "driver", str, "fake", source),
        selector=optional(table, "selector", str, "random", source),
        hosts=tuple(hosts),
        options=options,
    )


_SELECTION_KEYS = {"selector", "filters", "weighers", "subset_size", "sample_minimum",
                   "sample_fraction", "sample_maximum", "options"}


def selection(table: Any, default_selector: str, source: str) -> SelectionConfig:
    """The [selection] table; without one, `default_selector` with its defaults."""
    if table is None:
        return SelectionConfig(selector=default_selector)
    where = f"{source} [selection]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    no_unknown(table, _SELECTION_KEYS, where)
    filters = table.get("filters")
    if filters is not None and not (
        isinstance(filters, list) and all(isinstance(f, str) for f in filters)
    ):
        raise ConfigError(f"{where}: filters must be a list of names")
    weighers = _weighers(table.get("weighers", []), where)
    options = table.get("options", {})
    if not isinstance(options, Mapping) or not all(isinstance(v, Mapping)
                                                   for v in options.values()):
        raise ConfigError(f"{where}: options must be tables, one per plugin name")
    sampling = _sampling(table, where)
    selector_options = {}
    if "subset_size" in table:
        selector_options["subset_size"] = count(table, "subset_size", 1, where)
    return SelectionConfig(
        selector=optional(table, "selector", str, default_selector, where),
        filters=tuple(filters) if filters is not None else None,
        weighers=tuple(weighers),
        sampling=sampling,
        options={k: dict(v) for k, v in options.items()},
        selector_options=selector_options,
    )


def _weighers(entries: Any, where: str) -> list[tuple[str, float]]:
    weighers = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{where}: each weigher is {{ name = ..., multiplier = ... }}")
        multiplier = entry.get("multiplier", 1.0)
        if isinstance(multiplier, bool) or not isinstance(multiplier, int | float):
            raise ConfigError(f"{where}: weigher {entry['name']} multiplier must be a number")
        weighers.append((entry["name"], float(multiplier)))
    return weighers


def _sampling(table: Mapping[str, Any], where: str) -> Sampling | None:
    """The sample_* keys; None (examine every candidate) when none is given."""
    if not {"sample_minimum", "sample_fraction", "sample_maximum"} & set(table):
        return None
    fraction = positive(table, "sample_fraction", 0.05, where)
    if fraction > 1:
        raise ConfigError(f"{where}: sample_fraction must be at most 1")
    return Sampling(count(table, "sample_minimum", 100, where), fraction,
                    count(table, "sample_maximum", 500, where))


def required(table: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    if key not in table:
        raise ConfigError(f"{source}: '{key}' is required")
    return optional(table, key, kind, None, source)


def optional(table: Mapping[str, Any], key: str, kind: type, default: Any, source: str) -> Any:
    value = table.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"{source}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def positive(table: Mapping[str, Any], key: str, default: float, source: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{source}: '{key}' must be a positive number, got {value!r}")
    return float(value)


def count(table: Mapping[str, Any], key: str, default: int, source: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{source}: '{key}' must be a positive whole number, got {value!r}")
    return value


def active_lock(cell: Mapping[str, Any], source: str) -> bool:
    wanted = bool(optional(cell, "active_lock", bool, False, source))
    if wanted and not str(cell.get("database_url", "")).startswith("postgresql"):
        raise ConfigError(f"{source}: active_lock needs a PostgreSQL database_url: the lock"
                          " is PostgreSQL's, and the active process and its standby share"
                          " the database")
    return wanted


def address(value: str, source: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{source}: listen address {value!r} is not HOST:PORT")
    return value


def no_unknown(table: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}")
