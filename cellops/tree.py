"""A whole tree of cells from one file, each cell its own process.

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

    [cells.top]               # the one cell without a parent is the top

    [cells.eu]
    parent = "top"

    [cells.eu-a]
    parent = "eu"
    driver = "fake"           # a cell with a driver is a leaf
    hosts = [{ name = "eu-a-1", vcpus = 32, memory_mb = 131072, disk_gb = 1000 }]

`TreeRunner` writes one config per cell under a state directory, starts the
cells top-down, and waits until every cell has registered and reported.
Each router's config names exactly its children (`[cell] children`), and
each leaf with `[[agents]]` lists their ids (`[agents] allowed`, unless the
cell's own `agents` table says otherwise; a leaf with none admits any id).
With tls = true every cell gets a `cell` certificate and every `[[agents]]`
entry an `agent` one (cellops.certs), made anew when a state directory's
old certificate carries another role or none.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cellops import agent_processes, certs, children
from cellops.agent_processes import AgentSpec, agents_of
from cellops.api_process import ApiProcess, ApiSpec
from cellops.fake_engine import ENGINE_KEYS, EngineProcess, wants_engine
from cellops.postgres import ensure_schema, schema_name, schema_url, tree_url
from cellops.supervise import Slot
from cellops.toml_out import q, toml_value
from cells.client import CellClient
from cells.config import CELL_KEYS, catalog_of
from cells.security.auth import TokenStore
from model.config import ConfigError, read_toml
from model.errors import CellError
from routing.errors import BadPath
from routing.path import check_name

Watch = Callable[[Set[str]], None]  # hears the names of the cells up (wait_registered)


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
    cells = []
    for name, table in data.get("cells", {}).items():
        try:
            check_name(name)
        except BadPath as exc:
            raise ConfigError(f"{path}: {exc}") from None
        table = dict(table)
        wants_engine(str(table.get("driver", "")), table, name)  # a bad ask fails here
        cells.append(CellSpec(
            name=name,
            parent=table.pop("parent", ""),
            driver=table.pop("driver", ""),
            selector=table.pop("selector", "random"),
            hosts=tuple(table.pop("hosts", ())),
            replicas=_replicas(table.pop("replicas", 1), name, str(path)),
            extra=table,
        ))
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
                    client_auth, *_catalog_tables(data, str(path)))
    _check_shape(spec, str(path))
    return spec


def _catalog_tables(data: Mapping[str, Any], source: str) -> tuple[
        tuple[Mapping[str, Any], ...], tuple[Mapping[str, Any], ...]]:
    """The tree's [[images]] and [[networks]], checked as a cell will read them."""
    catalog_of(data, source)
    return tuple(data.get("images", ())), tuple(data.get("networks", ()))


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


def free_ports(host: str, count: int) -> list[int]:
    """Ports nothing listens on right now (held open together so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# [cell] keys the tree decides, never a cell's table (see cell_config).
_SECURITY_KEYS = {"insecure", "client_listen", "client_auth", "parent_name", "children"}
_TABLES = {"selection", "limits", "agents"}  # a cell's tables that go into its config as they are


@dataclass(frozen=True, slots=True)
class Security:
    """What a cell's config says about TLS and tokens."""

    certs: Path | None = None      # the tree's CA directory; None: insecure
    parent_name: str = ""
    client_listen: str = ""
    tokens_file: Path | None = None
    open_client_port: bool = False  # client_auth = "none": client_listen without tokens


def cell_config(spec: TreeSpec, cell: CellSpec, address: str, parent: str,
                state_dir: Path, security: Security = Security(),
                engine: Mapping[str, Any] | None = None) -> str:
    """The TOML config of one cell of the tree; `engine`: the driver options
    that reach the fake oVirt engine started for it (cellops.fake_engine)."""
    lines = [
        "[cell]",
        f"name = {q(cell.name)}",
        f"listen = {q(address)}",
        f"state_dir = {q(str(state_dir))}",
        f"report_interval = {spec.report_interval}",
        f"down_after = {spec.down_after}",
    ]
    if parent:
        lines.append(f"parent = {q(parent)}")
    lines += _security_lines(security)
    if not cell.driver:  # a router admits exactly its children of the tree
        below = [c.name for c in spec.cells if c.parent == cell.name]
        lines.append(f"children = {toml_value(below)}")
    if cell.driver and cell.replicas > 1:
        lines.append("active_lock = true")  # one acts, the others stand by (cells.standby)
    # Keys of the [cell] table go there, `selection` into [selection]; a
    # leaf's other keys are driver options.
    # (The tree decides the security keys; a driver may have its own of the
    # same name, as oVirt's `insecure`.)
    cell_keys = CELL_KEYS - _SECURITY_KEYS
    lines += [f"{k} = {toml_value(v)}" for k, v in cell.extra.items() if k in cell_keys]
    if cell.name in spec.schemas():
        lines.append(f"database_url = {q(spec.database_url(cell))}")
    options = {k: v for k, v in cell.extra.items()
               if k not in cell_keys and k not in _TABLES and k not in ENGINE_KEYS}
    options |= engine or {}
    if not cell.driver:
        lines.append(f"selector = {q(cell.selector)}")
        if options:
            raise ConfigError(f"cell {cell.name}: unknown keys {', '.join(sorted(options))}")
    tables = {table: dict(cell.extra[table]) for table in _TABLES & set(cell.extra)}
    agent_ids = [a.id for a in spec.agents if a.cell == cell.name]
    if agent_ids:  # the leaf admits the agents the tree gives it
        tables.setdefault("agents", {}).setdefault("allowed", agent_ids)
    for table in sorted(tables):
        lines += ["", f"[{table}]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in tables[table].items()]
    if security.certs is not None:
        lines += ["", "[tls]", f"ca_file = {q(str(security.certs / 'ca.pem'))}",
                  f"cert_file = {q(str(security.certs / (cell.name + '.pem')))}",
                  f"key_file = {q(str(security.certs / (cell.name + '.key')))}"]
    if security.tokens_file is not None:
        lines += ["", "[auth]", f"tokens_file = {q(str(security.tokens_file))}"]
    if cell.driver and spec.flavors:
        lines += ["", "[flavors]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in spec.flavors.items()]
    for table, entries in (("images", spec.images), ("networks", spec.networks)):
        for entry in entries:
            lines += ["", f"[[{table}]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    if cell.driver:
        lines += ["", "[leaf]", f"driver = {q(cell.driver)}", f"selector = {q(cell.selector)}"]
        lines += [f"{k} = {toml_value(v)}" for k, v in options.items()]
        if cell.driver == "fake" and cell.replicas > 1 and "state_file" not in options:
            # The fake "hypervisor" the active process and its standbys share.
            shared = state_dir.parent / cell.name / "fake-hypervisor.db"
            lines.append(f"state_file = {q(str(shared))}")
        for host in cell.hosts:
            lines += ["", "[[leaf.hosts]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in host.items()]
    return "\n".join(lines) + "\n"


def _security_lines(security: Security) -> list[str]:
    lines = [] if security.certs is not None else ["insecure = true"]
    if security.parent_name:
        lines.append(f"parent_name = {q(security.parent_name)}")
    if security.client_listen:
        lines.append(f"client_listen = {q(security.client_listen)}")
        if security.open_client_port:
            lines.append('client_auth = "none"')
    return lines


class TreeRunner:
    """Starts, restarts and stops the processes of a tree of cells."""

    def __init__(self, spec: TreeSpec, state_dir: Path, log_level: str = "INFO") -> None:
        self.spec = spec
        self.state_dir = state_dir.resolve()
        self.log_level = log_level
        self.addresses: dict[str, str] = {}  # by cell: its replicas' joined with commas
        self.client_address = ""  # the top's client port(s), when it has one
        self.procs: dict[str, subprocess.Popen[bytes]] = {}  # by process (CellSpec.processes)
        self._listen: dict[str, str] = {}  # by process
        self._client_listen: dict[str, str] = {}  # by process of the top
        self.certs = self.state_dir / "certs" if spec.tls else None
        self.tokens_file = self.state_dir / "tokens.json" if spec.tokens else None
        self.ca: bytes | None = None
        self.admin_token = ""
        self.api = (ApiProcess(spec.api, self.state_dir / "api", spec.host, spec.report_interval)
                    if spec.api is not None else None)
        self.engines: dict[str, EngineProcess] = {}  # by cell: fake oVirt engines
        self.agent_procs: dict[str, subprocess.Popen[bytes]] = {}  # the [[agents]], by id

    @property
    def top_address(self) -> str:
        """Where clients call the top."""
        return self.client_address or self.addresses[self.spec.top.name]

    def client(self, timeout: float = 10.0, token: str | None = None) -> CellClient:
        """A client of the top with the tree's CA and (by default) the admin token."""
        return CellClient(self.top_address, timeout=timeout, ca=self.ca,
                          token=self.admin_token if token is None else token)

    def start(self, timeout: float = 60.0, watch: Watch | None = None) -> str:
        """Start every cell; return the top's address once all have registered.
        `watch`, if given, hears which cells are up each time the top is asked
        (see `wait_registered`)."""
        api_port = self._assign_ports()
        self._make_credentials()
        try:
            for engine in self.engines.values():
                engine.start(timeout)
            for level in self.spec.levels():
                for cell in level:
                    for key in cell.processes():
                        self._write_config(cell, key)
                        self.start_cell(key)
            self.wait_registered(timeout, watch)
            if self.api is not None:
                self._start_api(self.api, api_port, timeout)
            for agent in self.spec.agents:
                self.start_agent(agent)
        except BaseException:
            self.stop()
            raise
        return self.top_address

    def _assign_ports(self) -> int:
        """A port for every process (and the top's client ports); returns the API's."""
        host, top = self.spec.host, self.spec.top
        separate = self.spec.tls or self.spec.tokens
        keys = [key for cell in self.spec.cells for key in cell.processes()]
        engines = [c for c in self.spec.cells if wants_engine(c.driver, c.extra, c.name)]
        ports = iter(free_ports(host, len(keys) + (top.replicas if separate else 0) + 1
                                + len(engines)))
        for cell in engines:
            self.engines[cell.name] = EngineProcess(
                cell.name, self.state_dir / "engines" / cell.name, host, next(ports), cell.extra)
        for cell in self.spec.cells:
            mine = [f"{host}:{next(ports)}" for _ in cell.processes()]
            self._listen |= dict(zip(cell.processes(), mine, strict=True))
            self.addresses[cell.name] = ",".join(mine)
        if separate:
            clients = [f"{host}:{next(ports)}" for _ in top.processes()]
            self._client_listen = dict(zip(top.processes(), clients, strict=True))
            self.client_address = ",".join(clients)
        return next(ports)

    def _start_api(self, api: ApiProcess, port: int, timeout: float) -> None:
        token = ""
        if self.tokens_file is not None:
            token, _ = TokenStore(self.tokens_file).issue("", "admin", "api")
        ca_file = self.certs / "ca.pem" if self.certs is not None else None
        api.prepare(api.spec.port or port, self.top_address, self.spec.flavors, ca_file, token)
        api.start(self.log_level, timeout)

    def _make_credentials(self) -> None:
        """The tree's development CA and cell certificates, and the admin token."""
        if self.certs is not None:
            if not (self.certs / "ca.pem").exists():
                certs.init_ca(self.certs)
            for cell in self.spec.cells:
                certs.ensure(self.certs, cell.name, "cell")
            for agent in self.spec.agents:
                certs.ensure(self.certs, agent.id, "agent")
            self.ca = (self.certs / "ca.pem").read_bytes()
        if self.tokens_file is not None and not self.admin_token:
            self.admin_token, _ = TokenStore(self.tokens_file).issue("", "admin", "tree runner")

    def _write_config(self, cell: CellSpec, key: str) -> None:
        cell_dir = self.state_dir / key
        cell_dir.mkdir(parents=True, exist_ok=True)
        parent = self.addresses[cell.parent] if cell.parent else ""  # every replica's
        security = Security(
            certs=self.certs, parent_name=cell.parent if self.certs else "",
            client_listen="" if cell.parent else self._client_listen.get(key, ""),
            tokens_file=None if cell.parent else self.tokens_file,
            open_client_port=self.spec.open_client_port)
        engine = self.engines.get(cell.name)
        schema = self.spec.schemas().get(cell.name)
        if schema is not None:
            ensure_schema(self.spec.postgres, schema)
        text = cell_config(self.spec, cell, self._listen[key], parent, cell_dir, security,
                           engine.cell_options() if engine is not None else None)
        (cell_dir / "cell.toml").write_text(text)

    def start_agent(self, agent: AgentSpec) -> subprocess.Popen[bytes]:
        proc = self.agent_procs[agent.id] = agent_processes.start(
            agent, self._listen[agent.cell], self.state_dir / "agents",
            self.spec.report_interval, self.log_level, self.certs)
        return proc

    def slots(self) -> list[Slot]:
        """Every process of the started tree, for a Supervisor to keep running."""
        slots = [Slot(f"engine {cell}", "engine", engine.directory / "engine.log",
                      engine.launch, lambda e=engine: e.proc)  # type: ignore[misc]
                 for cell, engine in self.engines.items()]
        for key in [key for cell in self.spec.cells for key in cell.processes()]:
            slots.append(Slot(f"cell {key}", "cell", self.state_dir / key / "cell.log",
                              lambda k=key: self.start_cell(k),  # type: ignore[misc]
                              lambda k=key: self.procs.get(k)))  # type: ignore[misc]
        if self.api is not None:
            api = self.api
            slots.append(Slot("api", "api", api.directory / "api.log",
                              lambda: api.launch(self.log_level), lambda: api.proc))
        for agent in self.spec.agents:
            slots.append(Slot(f"agent {agent.id}", "agent",
                              self.state_dir / "agents" / agent.id / "agent.log",
                              lambda a=agent: self.start_agent(a),  # type: ignore[misc]
                              lambda a=agent: self.agent_procs.get(a.id)))  # type: ignore[misc]
        return slots

    def address_of(self, process: str) -> str:
        """Where the process `process` (a cell's name, or NAME.rN) serves cells."""
        return self._listen[process]

    def active(self, name: str) -> str:
        """The process acting for cell `name` (for a leaf with standbys, the one
        that holds the lock: alive, and serving)."""
        cell = next(c for c in self.spec.cells if c.name == name)
        for key in cell.processes():
            proc = self.procs.get(key)
            if proc is not None and proc.poll() is None and (
                    self.state_dir / key / "address").exists():
                return key
        raise LookupError(f"no process of cell {name} is serving")

    def start_cell(self, name: str) -> subprocess.Popen[bytes]:
        """Start the process `name`: a cell's name, or one of its replicas' (NAME.rN)."""
        cell_dir = self.state_dir / name
        proc = self.procs[name] = children.start(
            [sys.executable, "-m", "cellops.cli", "--log-level", self.log_level,
             "serve", "--config", str(cell_dir / "cell.toml")], cell_dir / "cell.log")
        return proc

    def kill_cell(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(timeout=10)

    def restart_cell(self, name: str, timeout: float = 30.0) -> None:
        self.kill_cell(name, signal.SIGTERM)
        self.start_cell(name)
        self.wait_registered(timeout)

    def wait_registered(self, timeout: float, watch: Watch | None = None) -> None:
        """Block until the top sees every cell up with a reported capacity.
        `watch` is called with the names of the cells up each time the top is
        asked (none while it does not answer), from this thread; it must be
        quick (the top is asked every tenth of a second)."""
        deadline = time.monotonic() + timeout
        want = {c.name for c in self.spec.cells}
        paths = self.spec.paths()
        # A fake leaf given no hosts (one for agents only) reports none.
        hostless = {c.name for c in self.spec.cells if c.driver == "fake" and not c.hosts}
        seen: set[str] = set()
        with self.client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    top = client.topology()
                    seen = {n.name for n in top.walk() if n.up and n.path == paths[n.name]
                            and (n.kind.value == "router" or n.capacity.hosts > 0
                                 or n.name in hostless)}
                    done = seen == want and _reported(top)
                except CellError:  # the top is not serving yet
                    done = False
                if watch is not None:
                    watch(seen)
                if done:
                    return
                time.sleep(0.1)
        raise TimeoutError(f"cells not up after {timeout:g} s: {sorted(want - seen)}"
                           f" (logs in {self.state_dir})")

    def _check_alive(self) -> None:
        if self.api is not None and self.api.proc is not None and not self.api.alive():
            log = self.api.directory / "api.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"the API process exited:\n{tail}")
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = self.state_dir / name / "cell.log"
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(f"cell {name} exited with {proc.returncode}:\n{tail}")

    def stop(self, grace: float = 5.0) -> None:
        agent_processes.stop_all(list(self.agent_procs.values()), grace)
        self.agent_procs.clear()
        if self.api is not None:
            self.api.stop(grace)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        for engine in self.engines.values():  # after the cells that use them
            engine.stop(grace)


def _reported(top: Any) -> bool:
    """Every router's capacity includes its children's hosts."""
    return all(
        n.kind.value == "leaf" or n.capacity.hosts == sum(c.capacity.hosts for c in n.children)
        for n in top.walk()
    )
