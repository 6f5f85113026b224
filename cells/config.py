"""A cell's configuration, read from a TOML file.

    [cell]
    name = "eu-a"                     # required; lowercase letters, digits, - and _
    listen = "127.0.0.1:50061"        # required
    advertise = ""                    # the address the parent should call; default: listen
    parent = "127.0.0.1:50051"        # omit for the top cell
    state_dir = "/var/lib/cellrouter/eu-a"
    database_url = ""                 # default: sqlite:///STATE_DIR/cell.db
    report_interval = 1.0             # seconds between reports to the parent
    down_after = 3                    # missed reports before a child is down
    max_hops = 10                     # a request crossing more cells is refused
    child_timeout = 30.0              # deadline for a call below when the caller set none
    list_timeout = 1.0                # a child slower than this is listed as unreachable
    direct_to_leaf = false            # route actions straight to the leaf when known
    active_lock = false               # leaves: serve only while holding the database's
                                      # advisory lock (a standby waits for it; PostgreSQL)
    pause_as_suspend = false          # leaves that cannot pause (oVirt) suspend instead;
                                      # without it such a pause is FAILED_PRECONDITION
    client_listen = ""                # a second port, for clients (with [tls] or [auth])
    client_auth = "token"             # clients on client_listen present a token ([auth]);
                                      # "none": the port serves anyone who reaches it,
                                      # as admin (a warning in the log and in `tree`)
    metrics_listen = ""               # HOST:PORT for Prometheus' /metrics (off when empty)
    parent_name = ""                  # the parent's certificate must name it (with [tls])
    children = ["eu-a", "eu-*"]       # routers: the child names (fnmatch patterns) that may
                                      # register and report here; [] admits none; absent:
                                      # any name (under [tls] a child still needs a cell
                                      # certificate naming it). `cellrouter up` always
                                      # writes each router's exact children
    insecure = false                  # required when there is no [tls] table: plaintext,
                                      # no peer checks (development only)

    [tls]                             # mutual TLS between cells (see cells.security.tls)
    ca_file = "/etc/cellrouter/ca.pem"
    cert_file = "/etc/cellrouter/eu-a.pem"   # its common name is the cell's name
    key_file = "/etc/cellrouter/eu-a.key"

    [auth]                            # API tokens on client_listen (see cells.security.auth);
    tokens_file = "/etc/cellrouter/tokens.json"   # made by `cellrouter tokens issue`
                                      # required with client_listen, unless client_auth = "none"

    [limits]                          # per client, where it calls (see cells.security.limits)
    max_in_flight_per_client = 64
    requests_per_second_per_client = 0   # 0: no rate limit
    burst_per_client = 0                 # default: two seconds' worth
    requests_per_second_per_member = 100 # member tokens (each API project too); 0: none
    burst_per_member = 0                 # default: two seconds' worth
    max_concurrent_rpcs = 2000           # the whole cell, per port

    [index]
    cache_size = 100000               # locations kept in memory
    cache_ttl = 300.0                 # seconds before a cached location is re-read

    [agents]                          # leaves: the agents that report here (agents/)
    down_after = 30.0                 # seconds without a report before an agent is down
    allowed = ["lb-1", "lb-*"]        # the agent ids (fnmatch patterns) that may report
                                      # here; absent: any id (under [tls] an agent still
                                      # needs an agent certificate naming it)
    failover = false                  # move the objects of agents dead for 2 x down_after
    failover_threshold = 3            # ...unless more agents than this are down at once
    filters = ["max_instances"]       # cellrouter.filters plugins, after the agents' rules
    options = { max_instances = { limit = 100 } }

    [selection]                       # how this cell picks a child cell, or a host
    selector = "random"               # or "filter_weigher", or an installed plugin
    filters = ["alive", "ram", "vcpu", "disk"]   # in order; default: the selector's own
    weighers = [{ name = "ram", multiplier = 1.0 }]
    subset_size = 1                   # filter_weigher: random among the best N
    sample_minimum = 100              # stop filtering once fraction x hosts are feasible,
    sample_fraction = 0.05            # but at least minimum and at most maximum
    sample_maximum = 500              # (omit all three: examine every candidate)
    [selection.options.max_instances] # options for one plugin, by name
    limit = 50

    [flavors]                         # leaves report how many of each still fit
    small = { vcpus = 1, memory_mb = 2048, disk_gb = 20 }

    [[images]]                        # what image ids and network names stand for
    name = "debian-12"                # (model.catalog): a member may boot only these;
    source = "debian-12.qcow2"        # a leaf turns them into its own sources
    [[networks]]
    name = "prod"
    source = "br-prod"
    project = ""

    [leaf]                            # present only on leaf cells
    driver = "fake"
    selector = "random"
    [[leaf.hosts]]
    name = "host-1"
    vcpus = 32
    memory_mb = 131072
    disk_gb = 1000
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bestmatch.pipeline import Sampling
from bestmatch.plugins import SelectionConfig
from cells.security.limits import Limits
from cells.security.tls import TlsConfig
from model.agents import Failover
from model.catalog import Catalog
from model.cells import AGENTS_ONLY
from model.compute import Resources
from model.config import ConfigError, read_toml
from routing.errors import BadPath
from routing.path import check_name


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


@dataclass(frozen=True, slots=True)
class CellConfig:
    name: str
    listen: str
    state_dir: Path
    parent: str = ""
    advertise: str = ""
    database_url: str = ""
    report_interval: float = 1.0
    down_after: int = 3
    max_hops: int = 10
    child_timeout: float = 30.0
    list_timeout: float = 1.0
    direct_to_leaf: bool = False
    active_lock: bool = False
    pause_as_suspend: bool = False
    client_listen: str = ""
    client_auth: str = "token"  # or "none": client_listen serves anyone, as admin
    metrics_listen: str = ""
    parent_name: str = ""
    children: tuple[str, ...] | None = None  # child name patterns; None: any name
    tls: TlsConfig | None = None
    tokens_file: Path | None = None
    limits: Limits = field(default_factory=Limits)
    selector: str = "random"
    cache_size: int = 100_000
    cache_ttl: float = 300.0
    agent_down_after: float = 30.0  # seconds without a report before an agent is down
    agent_failover: Failover = field(default_factory=Failover)
    agent_ids: tuple[str, ...] | None = None  # [agents] allowed: id patterns; None: any id
    # Filters (cellrouter.filters plugins) applied to agents after the rules, and their options.
    agent_filters: tuple[str, ...] = ()
    agent_filter_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    flavors: Mapping[str, Resources] = field(default_factory=dict)
    catalog: Catalog = field(default_factory=Catalog)
    leaf: LeafConfig | None = None

    @property
    def is_leaf(self) -> bool:
        return self.leaf is not None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'cell.db'}"


CELL_KEYS = {
    "name", "listen", "advertise", "parent", "state_dir", "database_url", "report_interval",
    "down_after", "max_hops", "child_timeout", "selector", "list_timeout", "direct_to_leaf",
    "active_lock",
    "pause_as_suspend", "client_listen", "client_auth", "parent_name", "insecure",
    "metrics_listen", "children",
}
CLIENT_AUTH = ("token", "none")  # the values of [cell] client_auth
_INDEX_KEYS = {"cache_size", "cache_ttl"}
_LEAF_KEYS = {"driver", "selector", "hosts"}



def load(path: Path) -> CellConfig:
    """Read and check a cell config file; ConfigError says what is wrong."""
    return from_mapping(read_toml(path, "config file"), source=str(path))


def from_mapping(data: Mapping[str, Any], source: str = "config") -> CellConfig:
    cell = data.get("cell")
    if not isinstance(cell, Mapping):
        raise ConfigError(f"{source}: missing the [cell] table")
    _no_unknown(cell, CELL_KEYS, f"{source} [cell]")
    name = _required(cell, "name", str, source)
    try:
        check_name(name)
    except BadPath as exc:
        raise ConfigError(f"{source}: {exc}") from None
    leaf = _leaf(data.get("leaf"), source)
    index = data.get("index", {})
    if not isinstance(index, Mapping):
        raise ConfigError(f"{source}: [index] must be a table")
    _no_unknown(index, _INDEX_KEYS, f"{source} [index]")
    agents = data.get("agents", {})
    if not isinstance(agents, Mapping):
        raise ConfigError(f"{source}: [agents] must be a table")
    _no_unknown(agents, {"down_after", "failover", "failover_threshold", "filters", "options",
                         "allowed"}, f"{source} [agents]")
    agent_filters = agents.get("filters", [])
    agent_options = agents.get("options", {})
    if not isinstance(agent_filters, list) or not all(isinstance(f, str) for f in agent_filters):
        raise ConfigError(f"{source} [agents]: filters must be a list of filter names")
    if not isinstance(agent_options, Mapping) or not all(
            isinstance(v, Mapping) for v in agent_options.values()):
        raise ConfigError(f"{source} [agents]: options must be tables, one per filter")
    unknown_tables = sorted(set(data) - {"cell", "leaf", "index", "selection", "flavors",
                                         "tls", "auth", "limits", "agents", "images",
                                         "networks"})
    if unknown_tables:
        raise ConfigError(f"{source}: unknown tables {', '.join(unknown_tables)}")
    listen = _address(_required(cell, "listen", str, source), source)
    tls, tokens_file = _security(data, cell, source)
    client_listen = _optional(cell, "client_listen", str, "", source)
    metrics = _optional(cell, "metrics_listen", str, "", source)
    client_auth = _client_auth(cell, client_listen, tokens_file is not None, source)
    return CellConfig(
        name=name,
        listen=listen,
        state_dir=Path(_optional(cell, "state_dir", str, f"./state/{name}", source)),
        parent=_optional(cell, "parent", str, "", source),
        advertise=_optional(cell, "advertise", str, "", source),
        database_url=_optional(cell, "database_url", str, "", source),
        report_interval=_positive(cell, "report_interval", 1.0, source),
        down_after=_count(cell, "down_after", 3, source),
        max_hops=_count(cell, "max_hops", 10, source),
        child_timeout=_positive(cell, "child_timeout", 30.0, source),
        list_timeout=_positive(cell, "list_timeout", 1.0, source),
        direct_to_leaf=_optional(cell, "direct_to_leaf", bool, False, source),
        active_lock=_active_lock(cell, source),
        pause_as_suspend=_optional(cell, "pause_as_suspend", bool, False, source),
        client_listen=_address(client_listen, source) if client_listen else "",
        client_auth=client_auth,
        parent_name=_optional(cell, "parent_name", str, "", source),
        children=_patterns(cell, "children", f"{source} [cell]"),
        metrics_listen=_address(metrics, source) if metrics else "",
        tls=tls,
        tokens_file=tokens_file,
        limits=_limits(data.get("limits", {}), source),
        selector=_optional(cell, "selector", str, "random", source),
        cache_size=_count(index, "cache_size", 100_000, source),
        cache_ttl=_positive(index, "cache_ttl", 300.0, source),
        agent_down_after=_positive(agents, "down_after", 30.0, source),
        agent_failover=Failover(_optional(agents, "failover", bool, False, source),
                                _count(agents, "failover_threshold", 3, source)),
        agent_ids=_patterns(agents, "allowed", f"{source} [agents]"),
        agent_filters=tuple(agent_filters),
        agent_filter_options={k: dict(v) for k, v in agent_options.items()},
        selection=_selection(data.get("selection"), leaf.selector if leaf else
                             _optional(cell, "selector", str, "random", source), source),
        flavors=_flavors(data.get("flavors", {}), source),
        catalog=catalog_of(data, source),
        leaf=leaf,
    )


def catalog_of(data: Mapping[str, Any], source: str) -> Catalog:
    """The `[[images]]` and `[[networks]]` of a config or tree file."""
    tables = {key: data.get(key, []) for key in ("images", "networks")}
    for key, entries in tables.items():
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise ConfigError(f"{source}: [[{key}]] must be tables")
    try:
        return Catalog.from_tables(tables["images"], tables["networks"])
    except KeyError as exc:
        raise ConfigError(f"{source}: every image and network needs a {exc.args[0]}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: [[images]] or [[networks]]: {exc}") from None


def _security(data: Mapping[str, Any], cell: Mapping[str, Any],
              source: str) -> tuple[TlsConfig | None, Path | None]:
    """[tls] and [auth]; plaintext only when the config says insecure = true."""
    insecure = _optional(cell, "insecure", bool, False, source)
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
    _no_unknown(auth, {"tokens_file"}, f"{source} [auth]")
    return tls, Path(_required(auth, "tokens_file", str, f"{source} [auth]"))


def _client_auth(cell: Mapping[str, Any], client_listen: str, has_auth: bool,
                 source: str) -> str:
    """[cell] client_auth, checked against client_listen and [auth]: a client
    port asks for tokens unless the config says "none" in so many words."""
    client_auth: str = _optional(cell, "client_auth", str, "token", source)
    if client_auth not in CLIENT_AUTH:
        raise ConfigError(f"{source}: client_auth must be \"token\" or \"none\","
                          f" not {client_auth!r}")
    if has_auth and not client_listen:
        raise ConfigError(f"{source}: [auth] needs client_listen, the port where clients"
                          " present their tokens (the cells' own port has none)")
    if has_auth and client_auth == "none":
        raise ConfigError(f"{source}: client_auth = \"none\" contradicts the [auth] table"
                          " (tokens on the client port); keep one of the two")
    if client_listen and not has_auth and client_auth == "token":
        raise ConfigError(f"{source}: client_listen needs token auth: give an [auth] table"
                          " with tokens_file (made by `cellrouter tokens issue`), or set"
                          ' client_auth = "none" in [cell] to serve the client port to anyone'
                          " who reaches it, as admin")
    return client_auth


def _patterns(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    """A list of names or fnmatch patterns; None when the key is absent."""
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key} must be a list of names or patterns, as"
                          ' ["eu-a", "eu-*"]')
    return tuple(value)


def _limits(table: Any, source: str) -> Limits:
    where = f"{source} [limits]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    _no_unknown(table, {"max_in_flight_per_client", "requests_per_second_per_client",
                        "burst_per_client", "requests_per_second_per_member",
                        "burst_per_member", "max_concurrent_rpcs"}, where)
    return Limits(
        max_in_flight_per_client=_count(table, "max_in_flight_per_client", 64, where),
        requests_per_second_per_client=_rate(table, "requests_per_second_per_client", 0, where),
        burst_per_client=_whole(table, "burst_per_client", where),
        requests_per_second_per_member=_rate(table, "requests_per_second_per_member", 100,
                                             where),
        burst_per_member=_whole(table, "burst_per_member", where),
        max_concurrent_rpcs=_count(table, "max_concurrent_rpcs", 2000, where),
    )


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


def _flavors(table: Any, source: str) -> dict[str, Resources]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [flavors] must be a table")
    flavors = {}
    for name, size in table.items():
        where = f"{source} [flavors] {name}"
        if not isinstance(size, Mapping):
            raise ConfigError(f"{where}: give {{ vcpus = N, memory_mb = M, disk_gb = G }}")
        _no_unknown(size, {"vcpus", "memory_mb", "disk_gb"}, where)
        flavors[str(name)] = Resources(
            _count(size, "vcpus", 1, where),
            _count(size, "memory_mb", 1, where),
            int(size.get("disk_gb", 0)) if isinstance(size.get("disk_gb", 0), int) else -1,
        )
        if flavors[str(name)].disk_gb < 0:
            raise ConfigError(f"{where}: disk_gb must be a whole number >= 0")
    return flavors


def _leaf(table: Any, source: str) -> LeafConfig | None:
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [leaf] must be a table")
    hosts = table.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, Mapping) for h in hosts):
        raise ConfigError(f"{source}: leaf.hosts must be a list of tables")
    options = {k: v for k, v in table.items() if k not in _LEAF_KEYS}
    return LeafConfig(
        driver=_optional(table, "driver", str, "fake", source),
        selector=_optional(table, "selector", str, "random", source),
        hosts=tuple(hosts),
        options=options,
    )


_SELECTION_KEYS = {"selector", "filters", "weighers", "subset_size", "sample_minimum",
                   "sample_fraction", "sample_maximum", "options"}


def _selection(table: Any, default_selector: str, source: str) -> SelectionConfig:
    """The [selection] table; without one, `default_selector` with its defaults."""
    if table is None:
        return SelectionConfig(selector=default_selector)
    where = f"{source} [selection]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    _no_unknown(table, _SELECTION_KEYS, where)
    filters = table.get("filters")
    if filters is not None and not (
        isinstance(filters, list) and all(isinstance(f, str) for f in filters)
    ):
        raise ConfigError(f"{where}: filters must be a list of names")
    weighers = []
    for entry in table.get("weighers", []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{where}: each weigher is {{ name = ..., multiplier = ... }}")
        multiplier = entry.get("multiplier", 1.0)
        if isinstance(multiplier, bool) or not isinstance(multiplier, int | float):
            raise ConfigError(f"{where}: weigher {entry['name']} multiplier must be a number")
        weighers.append((entry["name"], float(multiplier)))
    options = table.get("options", {})
    if not isinstance(options, Mapping) or not all(isinstance(v, Mapping)
                                                   for v in options.values()):
        raise ConfigError(f"{where}: options must be tables, one per plugin name")
    sampling = None
    if {"sample_minimum", "sample_fraction", "sample_maximum"} & set(table):
        fraction = _positive(table, "sample_fraction", 0.05, where)
        if fraction > 1:
            raise ConfigError(f"{where}: sample_fraction must be at most 1")
        sampling = Sampling(_count(table, "sample_minimum", 100, where), fraction,
                            _count(table, "sample_maximum", 500, where))
    selector_options = {}
    if "subset_size" in table:
        selector_options["subset_size"] = _count(table, "subset_size", 1, where)
    return SelectionConfig(
        selector=_optional(table, "selector", str, default_selector, where),
        filters=tuple(filters) if filters is not None else None,
        weighers=tuple(weighers),
        sampling=sampling,
        options={k: dict(v) for k, v in options.items()},
        selector_options=selector_options,
    )


def _required(table: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    if key not in table:
        raise ConfigError(f"{source}: '{key}' is required")
    return _optional(table, key, kind, None, source)


def _optional(table: Mapping[str, Any], key: str, kind: type, default: Any, source: str) -> Any:
    value = table.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"{source}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _positive(table: Mapping[str, Any], key: str, default: float, source: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{source}: '{key}' must be a positive number, got {value!r}")
    return float(value)


def _count(table: Mapping[str, Any], key: str, default: int, source: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{source}: '{key}' must be a positive whole number, got {value!r}")
    return value


def _active_lock(cell: Mapping[str, Any], source: str) -> bool:
    wanted = bool(_optional(cell, "active_lock", bool, False, source))
    if wanted and not str(cell.get("database_url", "")).startswith("postgresql"):
        raise ConfigError(f"{source}: active_lock needs a PostgreSQL database_url: the lock"
                          " is PostgreSQL's, and the active process and its standby share"
                          " the database")
    return wanted


def _address(value: str, source: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{source}: listen address {value!r} is not HOST:PORT")
    return value


def _no_unknown(table: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}")
