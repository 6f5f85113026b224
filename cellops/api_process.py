"""The API process of a tree started by `cellrouter up`, when the tree file asks:

    [api]                     # serve the OpenStack APIs in front of the top
    region = "RegionOne"
    port = 0                  # 0: any free port
    admin_project = "admin"   # the project of the `admin` user made for the tree

    [[images]]                # what `openstack server create --image` can use
    name = "debian-12"
    source = "/srv/images/debian-12.qcow2"

    [[networks]]              # the networks servers may be on (api.config)
    name = "prod"
    source = "br-prod"

The runner writes `api/api.toml` (the tree's flavors and images, the top's
address, its CA and a token of its own when the tree has them, the API's own
database: SQLite in `api/api.db`), makes the
signing keys, adds an `admin` user with a random password, and writes the
`OS_*` variables for that user to `api/openrc`, with CELLROUTER_API_CONFIG
(so `cellrouter users remove|disable|passwd` and `cellrouter tokens revoke`
end tokens in this API's database).

When the tree's notifications are on, the API config gets the same
[notifications] table as the cells, and a [hooks] queue of its own tree
(`hooks_queue`): the API follows the bus, for web hooks and the dashboard's
event stream. The queue is durable and named after the tree's state
directory, so that a restarted API finds the events sent while it was away,
and two trees on one broker do not take each other's events.

When the tree has TLS, the API serves HTTPS with a certificate of role `api`
from the tree's CA (`certs/api.cellrouter.pem`: a name no cell can have, so
it never replaces a cell's), and the openrc names the CA (`OS_CACERT`).
"""

from __future__ import annotations

import hashlib
import secrets
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.hooks.settings import DEFAULT_QUEUE
from api.identity.files import write_private
from api.identity.keys import KeyRepository
from api.identity.users import UserStore
from cellops import certs, children
from cellops.toml_out import toml_value
from model.config import ConfigError
from notify.config import NotifyConfig, as_toml_table

API_KEYS = {"region", "port", "admin_project"}
CERT_NAME = "api.cellrouter"  # not a cell's name (those have no dot)


@dataclass(frozen=True, slots=True)
class ApiSpec:
    region: str = "RegionOne"
    port: int = 0
    admin_project: str = "admin"
    images: tuple[Mapping[str, Any], ...] = ()
    networks: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_tree(cls, data: Mapping[str, Any], source: str) -> ApiSpec:
        """From a tree file's [api], [[images]] and [[networks]]."""
        table = data["api"]
        unknown = sorted(set(table) - API_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown keys in [api]: {', '.join(unknown)}")
        lists = {}
        for key in ("images", "networks"):
            entries = data.get(key, [])
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise ConfigError(f"{source}: [[{key}]] must be tables")
            lists[key] = tuple(entries)
        return cls(str(table.get("region", "RegionOne")), int(table.get("port", 0)),
                   str(table.get("admin_project", "admin")), lists["images"],
                   lists["networks"])


class ApiProcess:
    """One `cellrouter api` process for a tree, with its files under `directory`."""

    def __init__(self, spec: ApiSpec, directory: Path, host: str, refresh: float = 1.0) -> None:
        """`refresh`: seconds between the dashboard's looks at the tree (the
        tree's report interval: nothing changes faster up there)."""
        self.spec = spec
        self.directory = directory
        self.host = host
        self.refresh = refresh
        self.url = ""
        self.password = ""
        self.ca_file: Path | None = None  # the CA clients verify the API with (HTTPS)
        self.proc: subprocess.Popen[bytes] | None = None

    def prepare(self, port: int, top: str, flavors: Mapping[str, Any], ca_file: Path | None,
                top_token: str, notify: NotifyConfig | None = None) -> None:
        """Write the config, keys, token and the admin user (once: kept on restarts).
        With `ca_file` (the tree's CA) the API serves HTTPS with a certificate from it;
        with `notify` enabled (the tree's notifications) it follows the bus."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tls = self._certificate(ca_file.parent) if ca_file is not None else None
        self.ca_file = ca_file
        self.url = f"{'https' if tls else 'http'}://{self.host}:{port}"
        KeyRepository(self.directory / "keys").init()
        if top_token:
            write_private(self.directory / "top-token", (top_token + "\n").encode())
        self._admin_user()
        text = _config_text(self.url, top, self.spec, flavors, ca_file, bool(top_token),
                            self.refresh, tls, f"sqlite:///{self.directory / 'api.db'}")
        if notify is not None and notify.enabled:
            text += _bus_text(notify, self.hooks_queue)
        (self.directory / "api.toml").write_text(text)
        write_private(self.directory / "openrc", self.openrc().encode())  # a password

    @property
    def hooks_queue(self) -> str:
        """The durable queue this tree's API processes share (see the module's
        docstring): the default name, and a digest of the API's directory."""
        digest = hashlib.sha256(str(self.directory.resolve()).encode()).hexdigest()[:12]
        return f"{DEFAULT_QUEUE}.{digest}"

    def _certificate(self, ca_dir: Path) -> certs.Issued:
        """The API's server certificate from the CA in `ca_dir`, made anew each
        time (clients trust the CA, not the certificate): it names today's host."""
        hosts = tuple(dict.fromkeys((*certs.LOOPBACK, self.host)))
        return certs.issue(ca_dir, CERT_NAME, hosts, role="api")

    def _admin_user(self) -> None:
        users = UserStore(self.directory / "users.json")
        saved = self.directory / "admin-password"
        if saved.exists() and any(u.name == "admin" for u in users.users()):
            self.password = saved.read_text().strip()
            return
        self.password = secrets.token_urlsafe(12)
        if any(u.name == "admin" for u in users.users()):
            users.remove("admin")
        users.add("admin", self.spec.admin_project, "admin", self.password)
        write_private(saved, (self.password + "\n").encode())

    def openrc(self) -> str:
        """The OS_* variables, and CELLROUTER_API_CONFIG: `cellrouter users` and
        `cellrouter tokens` then reach this API's users file and database."""
        config = {"CELLROUTER_API_CONFIG": str((self.directory / "api.toml").resolve())}
        return "".join(f"export {k}={v}\n" for k, v in (self.environment() | config).items())

    def environment(self) -> dict[str, str]:
        """The OS_* variables with which OpenStack clients log in as the admin user.

        A project's id is its name (api.identity), so OS_PROJECT_ID scopes a
        login exactly as OS_PROJECT_NAME does. Clients that read the environment
        as gophercloud does want OS_PROJECT_ID, or OS_DOMAIN_NAME beside a
        project name; the domain names are all "Default", which they require to
        agree (a domain id beside them would be refused as ambiguous)."""
        project = self.spec.admin_project
        cacert = {"OS_CACERT": str(self.ca_file)} if self.ca_file is not None else {}
        return {"OS_AUTH_URL": f"{self.url}/identity", "OS_IDENTITY_API_VERSION": "3",
                "OS_USERNAME": "admin", "OS_PASSWORD": self.password,
                "OS_PROJECT_ID": project, "OS_PROJECT_NAME": project,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_DOMAIN_NAME": "Default", "OS_REGION_NAME": self.spec.region,
                "OS_INTERFACE": "public", **cacert}

    def start(self, log_level: str, timeout: float = 30.0) -> None:
        self.launch(log_level)
        self._wait_serving(timeout)

    def launch(self, log_level: str) -> subprocess.Popen[bytes]:
        """Start the process (again, with what `prepare` wrote); do not wait."""
        proc = self.proc = children.start(
            [sys.executable, "-m", "cellops.cli", "--log-level", log_level, "api",
             "--config", str(self.directory / "api.toml")], self.directory / "api.log")
        return proc

    def _wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        context = (ssl.create_default_context(cafile=str(self.ca_file))
                   if self.ca_file is not None else None)
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                tail = (self.directory / "api.log").read_text()[-2000:]
                raise RuntimeError(f"the API process exited with {self.proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.url}/", timeout=1.0, context=context):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise TimeoutError(f"the API did not answer at {self.url} within {timeout:g} s")

    def alive(self) -> bool:
        return children.alive(self.proc)

    def stop(self, grace: float = 5.0) -> None:
        children.stop(self.proc, grace)


def _config_text(url: str, top: str, spec: ApiSpec, flavors: Mapping[str, Any],
                 ca_file: Path | None, token: bool, refresh: float,
                 tls: certs.Issued | None, database_url: str) -> str:
    listen = url.partition("://")[2]
    lines = ["[api]", f"listen = {toml_value(listen)}", f"public_url = {toml_value(url)}",
             f"top = {toml_value(top)}", f"region = {toml_value(spec.region)}",
             'users_file = "users.json"', 'keys_dir = "keys"',
             f"database_url = {toml_value(database_url)}",
             f"dashboard_refresh = {toml_value(refresh)}"]
    if ca_file is not None:
        lines.append(f"top_ca_file = {toml_value(str(ca_file))}")
    if token:
        lines.append('top_token_file = "top-token"')
    if tls is not None:
        lines += ["", "[tls]", f"cert_file = {toml_value(str(tls.cert))}",
                  f"key_file = {toml_value(str(tls.key))}"]
    lines += ["", "[flavors]", *(f"{k} = {toml_value(v)}" for k, v in flavors.items())]
    for table, entries in (("images", spec.images), ("networks", spec.networks)):
        for entry in entries:
            lines += ["", f"[[{table}]]", *(f"{k} = {toml_value(v)}" for k, v in entry.items())]
    return "\n".join(lines) + "\n"


def _bus_text(notify: NotifyConfig, queue: str) -> str:
    """[notifications] (the cells' bus) and [hooks] with the tree's queue."""
    table = {k: v for k, v in as_toml_table(notify).items() if k != "max_outbox"}
    lines = ["", "[notifications]", *(f"{k} = {toml_value(v)}" for k, v in table.items()),
             "", "[hooks]", f"queue = {toml_value(queue)}"]
    return "\n".join(lines) + "\n"
