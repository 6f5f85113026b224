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

    [tls]                             # mutual TLS between cells (see cellwire.tls)
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

    [notifications]                   # events to an AMQP bus (notify.config): a leaf's
                                      # of its instances, hosts and service objects, a
                                      # router's of its children found down or up
    enabled = false                   # off unless said
    url = "amqp://guest:guest@127.0.0.1:5672/"
    exchange = "nova"
    routing_key = "versioned_notifications.info"
    max_outbox = 100000               # events kept while the bus is down

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

from bestmatch.plugins import SelectionConfig
from cells.config_sections import (
    LeafConfig,
    active_lock,
    address,
    agents,
    client_auth,
    count,
    flavors,
    leaf_section,
    limits,
    no_unknown,
    optional,
    patterns,
    positive,
    required,
    security,
    selection,
)
from cells.security.limits import Limits
from cellwire.tls import TlsConfig
from model.agents import Failover
from model.catalog import Catalog
from model.compute import Resources
from model.config import ConfigError, read_toml
from notify.config import NotifyConfig
from notify.config import from_table as notifications_of
from routing.errors import BadPath
from routing.path import check_name


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
    notifications: NotifyConfig = field(default_factory=NotifyConfig)  # every cell's own

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
_INDEX_KEYS = {"cache_size", "cache_ttl"}
_TABLES = {"cell", "leaf", "index", "selection", "flavors", "tls", "auth", "limits", "agents",
           "images", "networks", "notifications"}


def load(path: Path) -> CellConfig:
    """Read and check a cell config file; ConfigError says what is wrong."""
    return from_mapping(read_toml(path, "config file"), source=str(path))


def from_mapping(data: Mapping[str, Any], source: str = "config") -> CellConfig:
    """The config in `data` (a parsed TOML file); ConfigError says what is wrong."""
    cell = _cell_table(data, source)
    name = _name(cell, source)
    leaf = leaf_section(data.get("leaf"), source)
    index = data.get("index", {})
    if not isinstance(index, Mapping):
        raise ConfigError(f"{source}: [index] must be a table")
    no_unknown(index, _INDEX_KEYS, f"{source} [index]")
    agent_fields = agents(data.get("agents", {}), source)
    unknown_tables = sorted(set(data) - _TABLES)
    if unknown_tables:
        raise ConfigError(f"{source}: unknown tables {', '.join(unknown_tables)}")
    listen = address(required(cell, "listen", str, source), source)
    tls, tokens_file = security(data, cell, source)
    return CellConfig(
        name=name,
        listen=listen,
        state_dir=Path(optional(cell, "state_dir", str, f"./state/{name}", source)),
        **_cell_keys(cell, source),
        **_ports(cell, tokens_file is not None, source),
        tls=tls,
        tokens_file=tokens_file,
        limits=limits(data.get("limits", {}), source),
        selector=optional(cell, "selector", str, "random", source),
        cache_size=count(index, "cache_size", 100_000, source),
        cache_ttl=positive(index, "cache_ttl", 300.0, source),
        **agent_fields,
        selection=selection(data.get("selection"), leaf.selector if leaf else
                            optional(cell, "selector", str, "random", source), source),
        flavors=flavors(data.get("flavors", {}), source),
        catalog=catalog_of(data, source),
        leaf=leaf,
        notifications=notifications_of(data.get("notifications", {}), source),
    )


def _cell_table(data: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    cell = data.get("cell")
    if not isinstance(cell, Mapping):
        raise ConfigError(f"{source}: missing the [cell] table")
    no_unknown(cell, CELL_KEYS, f"{source} [cell]")
    return cell


def _name(cell: Mapping[str, Any], source: str) -> str:
    name: str = required(cell, "name", str, source)
    try:
        check_name(name)
    except BadPath as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return name


def _cell_keys(cell: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The [cell] keys that stand alone, as the CellConfig fields they set."""
    return {
        "parent": optional(cell, "parent", str, "", source),
        "advertise": optional(cell, "advertise", str, "", source),
        "database_url": optional(cell, "database_url", str, "", source),
        "report_interval": positive(cell, "report_interval", 1.0, source),
        "down_after": count(cell, "down_after", 3, source),
        "max_hops": count(cell, "max_hops", 10, source),
        "child_timeout": positive(cell, "child_timeout", 30.0, source),
        "list_timeout": positive(cell, "list_timeout", 1.0, source),
        "direct_to_leaf": optional(cell, "direct_to_leaf", bool, False, source),
        "active_lock": active_lock(cell, source),
        "pause_as_suspend": optional(cell, "pause_as_suspend", bool, False, source),
        "parent_name": optional(cell, "parent_name", str, "", source),
        "children": patterns(cell, "children", f"{source} [cell]"),
    }


def _ports(cell: Mapping[str, Any], has_auth: bool, source: str) -> dict[str, Any]:
    """The client and metrics ports, and who the client port serves."""
    client_listen = optional(cell, "client_listen", str, "", source)
    metrics = optional(cell, "metrics_listen", str, "", source)
    return {
        "client_auth": client_auth(cell, client_listen, has_auth, source),
        "client_listen": address(client_listen, source) if client_listen else "",
        "metrics_listen": address(metrics, source) if metrics else "",
    }


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


