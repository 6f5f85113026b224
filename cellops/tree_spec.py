"""A whole tree of cells from one file, each cell its own process: the file.

    [tree]
    host = "127.0.0.1"        # every cell listens here, on a free port
    report_interval = 1.0
    down_after = 3
    tls = true                # a development CA and a certificate per cell (mutual
                              # TLS), and a client port on the top that asks for API
                              # tokens (the runner issues itself an admin one); or
    insecure = true           # plaintext between cells: one of the two is required
    tokens = true             # with insecure = true: a client port on the top that asks
                              # for tokens (with tls = true it is implied; false is refused)
    client_auth = "none"      # with tls = true: no tokens, the top's client port serves
                              # anyone who reaches it, as admin (a warning in the log
                              # and in `cellrouter tree`); default "token"

    [notifications]           # every cell's and the API's (notify.config); enabled may be
    enabled = "when-reachable"  # "when-reachable": on if the broker answers when
                              # `cellrouter up` starts the tree, which says which

    [cells.top]               # the one cell without a parent is the top

    [cells.eu]
    parent = "top"

    [cells.eu-a]
    parent = "eu"
    driver = "fake"           # a cell with a driver is a leaf
    hosts = [{ name = "eu-a-1", vcpus = 32, memory_mb = 131072, disk_gb = 1000 }]

`TreeRunner` (cellops.tree) writes one config per cell under a state
directory (cellops.tree_files), starts the cells top-down, and waits until
every cell has registered and reported.
Each router's config names exactly its children (`[cell] children`), and
each leaf with `[[agents]]` lists their ids (`[agents] allowed`, unless the
cell's own `agents` table says otherwise; a leaf with none admits any id).
With tls = true every cell gets a `cell` certificate and every `[[agents]]`
entry an `agent` one (cellops.certs), made anew when a state directory's
old certificate carries another role or none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cellops.agent_processes import AgentSpec, agents_of
from cellops.api_process import ApiSpec
from cellops.fake_engine import wants_engine
from cellops.postgres import schema_name, schema_url, tree_url
from cells.config import catalog_of
from model.config import ConfigError, read_toml
from notify import config as notify_config
from routing.errors import BadPath
from routing.path import check_name


@dataclass(frozen=True, slots=True)
class CellSpec:
    name: str
    parent: str = ""
    driver: str = ""
    selector: str = "random"
    hosts: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    replicas: int = 1  # processes of this (router) cell, over one PostgreSQL database

    def processes(self) -> list[str]:
        """Its processes' names: the cell's own, then NAME.r2, NAME.r3, ..."""
        return [self.name, *(f"{self.name}.r{n}" for n in range(2, self.replicas + 1))]


@dataclass(frozen=True, slots=True)
class TreeSpec:
    cells: tuple[CellSpec, ...]
    host: str = "127.0.0.1"
    report_interval: float = 1.0
    down_after: int = 3
    flavors: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # for every leaf
    tls: bool = False
    tokens: bool = False
    api: ApiSpec | None = None  # an API process in front of the top ([api])
    agents: tuple[AgentSpec, ...] = ()  # reference agents to run ([[agents]])
    name: str = "tree"  # the PostgreSQL schemas of its cells are named after it
    postgres: str = ""  # where replicated cells get a schema each (cellops.postgres)
    client_auth: str = "token"  # "none": the top's client port (tls) asks for no token
    # [[images]] and [[networks]] (model.catalog), written into every cell's config.
    images: tuple[Mapping[str, Any], ...] = ()
    networks: tuple[Mapping[str, Any], ...] = ()
    notifications: Mapping[str, Any] = field(default_factory=dict)  # [notifications], checked

    @property
    def open_client_port(self) -> bool:
        """The top serves its client port to anyone, without tokens."""
        return self.tls and self.client_auth == "none"

    @property
    def top(self) -> CellSpec:
        return next(c for c in self.cells if not c.parent)

    def schemas(self) -> dict[str, str]:
        """The schema each cell gets in `postgres`, by cell name: every cell
        that runs as several processes and has no database_url of its own."""
        if not self.postgres:
            return {}
        return {c.name: schema_name(self.name, c.name) for c in self.cells
                if c.replicas > 1 and not c.extra.get("database_url")}

    def database_url(self, cell: CellSpec) -> str:
        """The cell's database: its own database_url, its schema in `postgres`,
        or "" (SQLite in its state directory)."""
        schema = self.schemas().get(cell.name)
        own = str(cell.extra.get("database_url", ""))
        return schema_url(self.postgres, schema) if schema is not None else own

    def paths(self) -> dict[str, str]:
        """Each cell's full path, by name."""
        parents = {c.name: c.parent for c in self.cells}

        def path(name: str) -> str:
            return f"{path(parents[name])}!{name}" if parents[name] else name

        return {name: path(name) for name in parents}

    def levels(self) -> list[list[CellSpec]]:
        """Cells grouped by depth, the top first."""
        levels: list[list[CellSpec]] = [[self.top]]
        while True:
            names = {c.name for c in levels[-1]}
            below = [c for c in self.cells if c.parent in names]
            if not below:
                return levels
            levels.append(below)


def load_tree(path: Path, environ: Mapping[str, str] = os.environ) -> TreeSpec:
    """The tree in the file at `path`; ConfigError, naming the file, for one
    that is not a tree or would not run.

    A cell with `replicas` > 1 keeps its database in PostgreSQL: its own
    `database_url`, or, given `[tree] postgres = "postgresql+psycopg://USER@HOST/DB"`
    (or the environment variable CELLROUTER_PG_URL, which wins), a schema of its
    own in that database, named after the tree (`[tree] name`, by default the
    file's name without .toml) and the cell, that `cellrouter up` creates when it
    is missing (cellops.postgres). `environ` is where CELLROUTER_PG_URL is read.
    """
    data = read_toml(path, "tree file")
    tree = data.get("tree", {})
    cells = _cells(data.get("cells", {}), str(path))
    tls, insecure = bool(tree.get("tls", False)), bool(tree.get("insecure", False))
    if tls == insecure:
        raise ConfigError(f"{path}: [tree] needs exactly one of tls = true (a development CA"
                          " is made for the tree) or insecure = true (plaintext)")
    client_auth = str(tree.get("client_auth", "token"))
    tokens = _tokens(tls, tree.get("tokens"), client_auth, str(path))
    api = ApiSpec.from_tree(data, str(path)) if "api" in data else None
    leaves = {c.name for c in cells if c.driver}
    spec = TreeSpec(tuple(cells), tree.get("host", "127.0.0.1"),
                    float(tree.get("report_interval", 1.0)), int(tree.get("down_after", 3)),
                    data.get("flavors", {}), tls, tokens, api,
                    agents_of(data.get("agents", []), leaves, str(path)),
                    str(tree.get("name", path.stem)),
                    tree_url(str(tree.get("postgres", "")), environ, str(path)),
                    client_auth, *_catalog_tables(data, str(path)),
                    notifications=_notifications(data, str(path)))
    _check_shape(spec, str(path))
    return spec


def _cells(tables: Mapping[str, Any], source: str) -> list[CellSpec]:
    """The [cells.NAME] tables: a cell's own keys, the rest its `extra`."""
    cells = []
    for name, table in tables.items():
        try:
            check_name(name)
        except BadPath as exc:
            raise ConfigError(f"{source}: {exc}") from None
        table = dict(table)
        wants_engine(str(table.get("driver", "")), table, name)  # a bad ask fails here
        cells.append(CellSpec(
            name=name,
            parent=table.pop("parent", ""),
            driver=table.pop("driver", ""),
            selector=table.pop("selector", "random"),
            hosts=tuple(table.pop("hosts", ())),
            replicas=_replicas(table.pop("replicas", 1), name, source),
            extra=table,
        ))
    return cells


def _catalog_tables(data: Mapping[str, Any], source: str) -> tuple[
        tuple[Mapping[str, Any], ...], tuple[Mapping[str, Any], ...]]:
    """The tree's [[images]] and [[networks]], checked as a cell will read them."""
    catalog_of(data, source)
    return tuple(data.get("images", ())), tuple(data.get("networks", ()))


def _notifications(data: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    """The tree's [notifications], checked as `cellrouter up` will read it."""
    table = data.get("notifications", {})
    notify_config.from_table(table, source, tree=True)
    return dict(table)


def _tokens(tls: bool, tokens: Any, client_auth: str, source: str) -> bool:
    """Whether the top's client port asks for tokens: `[tree] tokens`, implied
    by tls unless client_auth = "none" says to leave the port open."""
    if client_auth not in ("token", "none"):
        raise ConfigError(f'{source}: [tree] client_auth must be "token" or "none",'
                          f" not {client_auth!r}")
    if tokens is not None and not isinstance(tokens, bool):
        raise ConfigError(f"{source}: [tree] tokens must be true or false, not {tokens!r}")
    if client_auth == "none":
        if not tls:
            raise ConfigError(f'{source}: [tree] client_auth = "none" is for a tree with'
                              " tls = true (an insecure tree's top serves clients on its"
                              " plaintext port, with no client port of its own)")
        if tokens:
            raise ConfigError(f'{source}: [tree] client_auth = "none" contradicts'
                              " tokens = true; keep one of the two")
        return False
    if tls and tokens is False:
        raise ConfigError(f"{source}: [tree] tls = true gives the top a client port, which"
                          " asks for tokens: drop tokens = false, or set"
                          ' client_auth = "none" to serve that port to anyone, as admin')
    return tls or bool(tokens)


def _check_shape(spec: TreeSpec, source: str) -> None:
    names = {c.name for c in spec.cells}
    tops = [c.name for c in spec.cells if not c.parent]
    if len(tops) != 1:
        raise ConfigError(f"{source}: a tree needs exactly one cell without a parent, "
                          f"found {tops or 'none'}")
    for c in spec.cells:
        if c.parent and c.parent not in names:
            raise ConfigError(f"{source}: cell {c.name}'s parent {c.parent} is not defined")
        has_children = any(o.parent == c.name for o in spec.cells)
        if c.driver and has_children:
            raise ConfigError(f"{source}: cell {c.name} has a driver and children; "
                              "a leaf cell cannot have children")
        if not c.driver and not has_children:
            raise ConfigError(f"{source}: cell {c.name} has neither children nor a driver")
        if c.replicas > 1 and not spec.database_url(c).startswith("postgresql"):
            raise ConfigError(f"{source}: cell {c.name} has replicas = {c.replicas} on SQLite:"
                              " replicas (and a leaf's standbys) share one PostgreSQL"
                              ' database; set [tree] postgres = "postgresql+psycopg://USER'
                              '@HOST/DB" (or the environment variable CELLROUTER_PG_URL),'
                              " which gives each such cell a schema of its own, or the"
                              " cell's own database_url")
    shared = sorted({a.id for a in spec.agents} & names)
    if shared:
        raise ConfigError(f"{source}: agent ids {', '.join(shared)} are also cell names; each"
                          " needs one of its own (under tls, each has a certificate by it)")
    reachable = sum(len(level) for level in spec.levels())
    if reachable != len(spec.cells):
        raise ConfigError(f"{source}: some cells are not below the top (a parent loop?)")


def _replicas(value: Any, name: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 16:
        raise ConfigError(f"{source}: cell {name}: replicas must be a whole number from 1"
                          f" to 16, not {value!r}")
    return value
