"""The bundled fake oVirt engine (`virt.fake_ovirt`) as a process of a tree.

A leaf in a tree file with `driver = "ovirt"` and `engine = "fake"` gets an
engine of its own, started by `cellrouter up` before the cell and stopped
after it: a legacy virt pool to try cells with, where no oVirt is installed.
The engine speaks oVirt's REST API v4 over HTTP, and the cell reaches it
through the official SDK, as it would a real engine.

    [cells.legacy]
    parent = "eu"
    driver = "ovirt"
    engine = "fake"
    engine_hosts = 2          # hypervisors in the engine (default 2)
    engine_host_cpus = 16     # each (default 8)
    engine_host_memory_mb = 65536   # each (default 16384)
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from api.identity.files import write_private
from cellops import children
from model.config import ConfigError

API = "/ovirt-engine/api"
USER = "admin@internal"
# Tree-file keys of a leaf with a fake engine; they never reach the cell's config.
ENGINE_KEYS = {"engine", "engine_hosts", "engine_host_cpus", "engine_host_memory_mb"}
_DEFAULTS = {"engine_hosts": 2, "engine_host_cpus": 8, "engine_host_memory_mb": 16384}


def wants_engine(driver: str, options: Mapping[str, Any], cell: str) -> bool:
    """Whether a tree file's leaf asks for a fake engine (ConfigError for a bad ask)."""
    engine = options.get("engine")
    if engine is None:
        return False
    if engine != "fake" or driver != "ovirt":
        raise ConfigError(f"cell {cell}: engine = \"fake\" is the one engine `cellrouter up`"
                          f" starts, for driver = \"ovirt\" (got engine = {engine!r},"
                          f" driver = {driver!r})")
    for key in _DEFAULTS:
        value = options.get(key, _DEFAULTS[key])
        if type(value) is not int or not 1 <= value <= 1_000_000:
            raise ConfigError(f"cell {cell}: {key} must be a whole number from 1, not {value!r}")
    return True


class EngineProcess:
    """One fake engine process, with its password file under `directory`."""

    def __init__(self, cell: str, directory: Path, host: str, port: int,
                 options: Mapping[str, Any]) -> None:
        self.cell = cell
        self.directory = directory
        self.address = f"{host}:{port}"
        self.url = f"http://{self.address}{API}"
        self._sizes = {key: int(options.get(key, default)) for key, default in _DEFAULTS.items()}
        self.proc: subprocess.Popen[bytes] | None = None

    def cell_options(self) -> dict[str, Any]:
        """What the cell's [leaf] table gets instead of the `engine*` keys."""
        return {"url": self.url, "username": USER,
                "password_file": str(self.directory / "engine-password"), "insecure": True}

    def start(self, timeout: float = 30.0) -> None:
        self.launch()
        self._wait_serving(timeout)

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process (again, with the same password and port); do not wait."""
        self.directory.mkdir(parents=True, exist_ok=True)
        password_file = self.directory / "engine-password"
        if not password_file.exists():
            write_private(password_file, (secrets.token_urlsafe(12) + "\n").encode())
        password = password_file.read_text().strip()
        self.proc = children.start(
            [sys.executable, "-m", "virt.fake_ovirt", "--listen", self.address,
             "--hosts", str(self._sizes["engine_hosts"]),
             "--host-cpus", str(self._sizes["engine_host_cpus"]),
             "--host-memory-mb", str(self._sizes["engine_host_memory_mb"]),
             "--user", USER, "--password", password], self.directory / "engine.log")
        return self.proc

    def _wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                tail = (self.directory / "engine.log").read_text()[-2000:]
                raise RuntimeError(f"the fake oVirt engine of cell {self.cell} exited with"
                                   f" {self.proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(self.url, timeout=1.0):
                    return
            except urllib.error.HTTPError:
                return  # it answers (401 without credentials): it serves
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise TimeoutError(f"the fake oVirt engine of cell {self.cell} did not answer at"
                           f" {self.url} within {timeout:g} s")

    def alive(self) -> bool:
        return children.alive(self.proc)

    def stop(self, grace: float = 5.0) -> None:
        children.stop(self.proc, grace)
