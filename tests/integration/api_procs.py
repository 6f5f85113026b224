"""API processes of their own (`cellrouter api --config`), without a tree: for
what the identity endpoints do across processes sharing one API database."""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from api.identity.keys import KeyRepository

NO_TOP = "127.0.0.1:1"  # identity needs no tree: nothing listens there


def write_api_config(directory: Path, extra: str = "") -> Path:
    """api.toml in `directory` (keys made; users.json and api.db beside it)."""
    directory.mkdir(parents=True, exist_ok=True)
    KeyRepository(directory / "keys").init()
    path = directory / "api.toml"
    path.write_text(f'[api]\nlisten = "127.0.0.1:0"\ntop = "{NO_TOP}"\n'
                    f'database_url = "sqlite:///{directory / "api.db"}"\n{extra}')
    return path


class ApiProc:
    """One `cellrouter api` process; `url` once it listens."""

    def __init__(self, config: Path, timeout: float = 30.0) -> None:
        self.log = config.parent / f"api-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cellops.cli", "api", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=self.log.open("wb"), text=True)
        assert self.proc.stdout is not None
        # A selector, not select(): a long test run may hold descriptors past 1024.
        with selectors.DefaultSelector() as waiting:
            waiting.register(self.proc.stdout, selectors.EVENT_READ)
            ready = waiting.select(timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("api: "):
            self.stop()
            raise RuntimeError(f"the API did not start: {line!r}\n{self.log.read_text()[-2000:]}")
        self.url = line.split(" ", 1)[1].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def login(self, name: str, password: str, project: str | None = None) -> requests.Response:
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"name": "Default"}, "password": password}}}}
        if project is not None:
            auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
        return requests.post(f"{self.url}/identity/v3/auth/tokens", json={"auth": auth},
                             timeout=30)

    def token(self, name: str, password: str, project: str | None = None) -> str:
        answer = self.login(name, password, project)
        assert answer.status_code == 201, answer.text
        return answer.headers["X-Subject-Token"]

    def get(self, path: str, token: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", headers={"X-Auth-Token": token}, timeout=30)
