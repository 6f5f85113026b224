"""Running a whole tree of cells (cellops.tree_spec), each cell its own process.

`TreeRunner` writes one config per cell under a state directory
(cellops.tree_files), starts the cells top-down, and waits until every cell
has registered and reported. With tls = true every cell gets a `cell`
certificate and every `[[agents]]` entry an `agent` one (cellops.certs), made
anew when a state directory's old certificate carries another role or none.
The test harness starts its trees here too.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Set
from pathlib import Path
from typing import Any

from cellops import agent_processes, certs, children
from cellops.agent_processes import AgentSpec
from cellops.api_process import ApiProcess
from cellops.fake_engine import EngineProcess, wants_engine
from cellops.postgres import ensure_schema
from cellops.supervise import Slot
from cellops.tree_files import Security, cell_config, notifications
from cellops.tree_spec import CellSpec, TreeSpec
from cells.security.auth import TokenStore
from cellwire.client import CellClient
from model.errors import CellError

Watch = Callable[[Set[str]], None]  # hears the names of the cells up (wait_registered)


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
        # Every cell's [notifications] (and the API's), and what `cellrouter up` says.
        self.notifications, self.notifications_said = notifications(spec)

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
        api.prepare(api.spec.port or port, self.top_address, self.spec.flavors, ca_file, token,
                    self.notifications)  # the API follows the cells' bus
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
                           engine.cell_options() if engine is not None else None,
                           self.notifications)
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
            if children.alive(proc) and (self.state_dir / key / "address").exists():
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
        """Block until every process of the top sees every cell up with a
        reported capacity, and has heard a full report from each process of
        every replicated cell since. (A region's second process may not have
        heard from a leaf yet; until it has, its reports would hide that leaf
        from the top for a moment.) `watch` is called with the names of the
        cells up each time the top answers (none while it has never answered),
        from this thread; it must be quick (the top is asked every tenth of a
        second)."""
        deadline = time.monotonic() + timeout
        want = {c.name for c in self.spec.cells}
        paths = self.spec.paths()
        # A fake leaf given no hosts (one for agents only) reports none.
        hostless = {c.name for c in self.spec.cells if c.driver == "fake" and not c.hosts}
        seen: set[str] = set()
        full_since: float | None = None  # when every top process first saw it all
        running = [key for key in self.spec.top.processes() if key in self.procs]
        clients = [CellClient(self._client_listen.get(key) or self._listen[key], timeout=2.0,
                              ca=self.ca, token=self.admin_token) for key in running]
        try:
            while time.monotonic() < deadline:
                self._check_alive()
                asked = time.monotonic()
                try:
                    views = [client.topology() for client in clients]
                except CellError:  # not serving yet, or over the top's rate limit
                    if watch is not None and not seen:  # no flicker back to none
                        watch(seen)
                    time.sleep(0.1)
                    continue
                seen = set(want)
                for top in views:
                    seen &= {n.name for n in top.walk() if n.up and n.path == paths[n.name]
                             and (n.kind.value == "router" or n.capacity.hosts > 0
                                  or n.name in hostless)}
                full = seen == want and all(_reported(top) for top in views)
                if watch is not None:
                    watch(seen)
                if not full:
                    full_since = None
                elif full_since is None:
                    full_since = asked
                elif all(_heard_since(top, asked - full_since) for top in views):
                    return
                time.sleep(0.1)
        finally:
            for client in clients:
                client.close()
        raise TimeoutError(f"cells not up after {timeout:g} s: {sorted(want - seen)}"
                           f" (logs in {self.state_dir})")

    def _check_alive(self) -> None:
        if self.api is not None and self.api.proc is not None and not self.api.alive():
            raise RuntimeError(f"the API process exited:\n{_tail(self.api.directory / 'api.log')}")
        for name, proc in self.procs.items():
            if not children.alive(proc):
                raise RuntimeError(f"cell {name} exited with {proc.returncode}:\n"
                                   f"{_tail(self.state_dir / name / 'cell.log')}")

    def stop(self, grace: float = 5.0) -> None:
        agent_processes.stop_all(list(self.agent_procs.values()), grace)
        self.agent_procs.clear()
        if self.api is not None:
            self.api.stop(grace)
        children.stop_together(list(self.procs.values()), grace)
        self.procs.clear()
        for engine in self.engines.values():  # after the cells that use them
            engine.stop(grace)


def _tail(log: Path) -> str:
    """The end of a process's log, for the error that says it exited."""
    return log.read_text()[-2000:] if log.exists() else ""


def _heard_since(top: Any, ago: float) -> bool:
    """Every acting process of a replicated cell reported within `ago` seconds
    (one silent for a while has likely been stopped, and is not waited for)."""
    return all(r.heard_ago < ago for n in top.walk() for r in n.replicas
               if not r.standby and not r.silent)


def _reported(top: Any) -> bool:
    """Every router's capacity includes its children's hosts."""
    return all(
        n.kind.value == "leaf" or n.capacity.hosts == sum(c.capacity.hosts for c in n.children)
        for n in top.walk()
    )
