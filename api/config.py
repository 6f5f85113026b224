"""The API process's configuration: one TOML file.

    [api]
    listen = "127.0.0.1:8774"        # host:port (port 0: any free port)
    top = "127.0.0.1:50051"          # the top cell's client address (gRPC)
    region = "RegionOne"             # the region the service catalog names
    public_url = ""                  # the base URL of every link; required unless listen
                                     # is loopback, where it defaults to http(s)://LISTEN
    users_file = "users.json"        # `cellrouter users add ...`
    keys_dir = "keys"                # `cellrouter api-keys init|rotate --dir ...`
    token_ttl = 3600                 # seconds a token is valid
    top_ca_file = ""                 # the tree's CA (PEM) when the top serves TLS
    top_token_file = ""              # a file holding the API's token for the top
    timeout = 30                     # seconds for one call to the tree
    max_body = 65536                 # bytes; larger request bodies are 413
    dashboard_refresh = 1.0          # seconds between the dashboard's looks at the tree
    database_url = ""                # the API's own database (keypairs, flavors made by
                                     # admins, quotas): SQLAlchemy URL; "" is SQLite in
                                     # api.db beside this file. Several API processes
                                     # share one PostgreSQL (postgresql+psycopg://...)
    image_dir = "images"             # the data of images uploaded through the image API;
                                     # default: beside the users file (several API
                                     # processes must share it)
    max_image_size = 1073741824      # bytes; a larger upload is 413

    [notifications]                  # the bus to take events from, for web hooks and
    enabled = true                   # the dashboard (api.hooks.settings has [hooks] too)
    url = "amqp://guest:guest@127.0.0.1:5672/"

    [identity]                       # where users come from (api.identity.backends.settings
    backend = "file"                 # has every key): "file", the users file, or "ldap",
                                     # a directory described by [identity.ldap]

    [tls]                            # serve HTTPS (TLS 1.2 or later); without it, HTTP
    cert_file = "api.pem"            # the server's certificate chain (PEM)
    key_file = "api.key"             # its private key (PEM); both or neither

    [flavors]                        # the flavors users boot by name (id = name)
    small = { vcpus = 1, memory_mb = 2048, disk_gb = 20 }

    [network]                        # the Networking API's service (network/); optional
    mac_base = "fa:16:3e"            # the first octets of every port's generated MAC
    tenant_network_type = "vlan"     # what networks made without provider attributes are
    physical_network = "physnet1"    # where they are (and providers' default)
    vlan_min = 1                     # the VLANs they get, lowest free first
    vlan_max = 4094

    [[networks]]                     # the networks servers may be on: nothing else
    name = "prod"                    # what users give as a network's "uuid"
    source = "br-prod"               # what a leaf plugs the port into (a bridge or network)
    project = ""                     # whose it is; "" for every project
    cidr = "10.0.0.0/24"             # optional: a fixed_ip must be inside it

    [[images]]                       # the images users boot from
    name = "debian-12"
    source = "/srv/images/debian-12.qcow2"   # what a leaf boots: a path or POOL/VOLUME
    disk_format = "qcow2"            # optional; id defaults to a uuid made from the name
    min_disk = 0                     # GB
    min_ram = 0                      # MB

Relative paths are relative to the file.

Links (the service catalog, every `self`, `bookmark` and `next`) are built
from `public_url`, never from a request's Host header: a client could make
them point anywhere. So an API listening beyond loopback must be told the URL
its clients reach it at; on loopback only local clients can reach it, and the
listen address is that URL.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from api.hooks.settings import HookSettings, hook_settings_of, notifications_of
from api.identity.backends.settings import IdentitySettings, identity_settings_of
from model.catalog import Image, Network, image_of, network_of
from model.compute import Resources
from model.config import ConfigError, read_toml
from network.settings import NetworkSettings, settings_of
from notify.config import NotifyConfig


@dataclass(frozen=True, slots=True)
class ApiConfig:
    listen: str
    top: str
    region: str = "RegionOne"
    public_url: str = ""
    users_file: Path = Path("users.json")
    keys_dir: Path = Path("keys")
    token_ttl: float = 3600.0
    top_ca_file: Path | None = None
    top_token_file: Path | None = None
    timeout: float = 30.0
    max_body: int = 65536
    dashboard_refresh: float = 1.0
    database_url: str = ""  # "" : SQLite beside the users file (`database`)
    image_dir: Path | None = None  # None: beside the users file (`image_path`)
    max_image_size: int = 1 << 30
    tls: ApiTls | None = None
    flavors: Mapping[str, Resources] = field(default_factory=dict)
    images: tuple[Image, ...] = ()
    networks: tuple[Network, ...] = ()
    network: NetworkSettings = field(default_factory=NetworkSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    notifications: NotifyConfig = field(default_factory=NotifyConfig)  # api.hooks.settings
    hooks: HookSettings = field(default_factory=HookSettings)

    @property
    def database(self) -> str:
        """The API database's URL: `database_url`, else SQLite in api.db beside
        the users file (the API's directory)."""
        return self.database_url or f"sqlite:///{self.users_file.parent / 'api.db'}"

    @property
    def network_database(self) -> str:
        """The network service's database: the API's on PostgreSQL (its own
        tables and schema steps), a file of its own beside api.db on SQLite,
        where one writer at a time would make the two services wait on each
        other's writes."""
        url = make_url(self.database)
        if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
            return self.database
        return url.set(database=str(Path(url.database).with_name("network.db"))).render_as_string(
            hide_password=False)

    @property
    def image_path(self) -> Path:
        """Where uploaded images' data is kept: `image_dir`, else images/ beside
        the users file (the API's directory)."""
        return self.image_dir or self.users_file.parent / "images"

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    def base_url(self, port: int | None = None) -> str:
        """Where clients reach the API: `public_url`, else SCHEME://LISTEN, with
        `port` (the one bound, when listen asks for any) in place of LISTEN's."""
        if self.public_url:
            return self.public_url
        host, listen_port = split_listen(self.listen)
        return f"{self.scheme}://{host}:{listen_port if port is None else port}"


@dataclass(frozen=True, slots=True)
class ApiTls:
    """The files of the API's HTTPS: a certificate chain and its key (PEM)."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server context offering TLS 1.2 and later; ConfigError, naming the
        files, when they are not a certificate and its key."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
        except OSError as exc:  # ssl.SSLError too
            raise ConfigError(f"[tls] cert_file {self.cert_file} and key_file {self.key_file}"
                              f" are not a certificate and its key: {exc}") from None
        return context


_API_KEYS = {"listen", "top", "region", "public_url", "users_file", "keys_dir", "token_ttl",
             "top_ca_file", "top_token_file", "timeout", "max_body", "dashboard_refresh",
             "database_url", "image_dir", "max_image_size"}


def load_config(path: Path) -> ApiConfig:
    data = read_toml(path, "API config")
    try:
        return _parse(data, path.parent)
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _parse(data: Mapping[str, Any], base: Path) -> ApiConfig:
    api = dict(data.get("api", {}))
    unknown = sorted(set(api) - _API_KEYS)
    if unknown:
        raise ValueError(f"unknown keys in [api]: {', '.join(unknown)}")
    for key in ("listen", "top"):
        if not api.get(key):
            raise ValueError(f"[api] needs {key} (host:port)")
    public_url = _public_url(str(api["listen"]), str(api.get("public_url", "")))

    def where(key: str) -> Path | None:
        return (base / str(api[key])) if api.get(key) else None

    return ApiConfig(
        listen=str(api["listen"]), top=str(api["top"]), region=str(api.get("region", "RegionOne")),
        public_url=public_url,
        users_file=where("users_file") or base / "users.json",
        keys_dir=where("keys_dir") or base / "keys",
        token_ttl=float(api.get("token_ttl", 3600)), top_ca_file=where("top_ca_file"),
        top_token_file=where("top_token_file"), timeout=float(api.get("timeout", 30)),
        max_body=int(api.get("max_body", 65536)),
        dashboard_refresh=float(api.get("dashboard_refresh", 1.0)),
        database_url=str(api.get("database_url", "")) or f"sqlite:///{base / 'api.db'}",
        image_dir=where("image_dir") or base / "images",
        max_image_size=int(api.get("max_image_size", 1 << 30)),
        tls=_tls(data.get("tls"), base),
        flavors=flavors_of(data.get("flavors", {})),
        images=tuple(image_of(entry) for entry in data.get("images", ())),
        networks=tuple(network_of(entry) for entry in data.get("networks", ())),
        network=settings_of(data.get("network", {})),
        identity=identity_settings_of(data.get("identity", {}), base),
        notifications=notifications_of(data.get("notifications")),
        hooks=hook_settings_of(data.get("hooks", {})),
    )


def split_listen(listen: str) -> tuple[str, int]:
    """The host (as written: "[::1]" keeps its brackets) and port of a listen address."""
    host, colon, port = listen.rpartition(":")
    if not colon or not port.isdigit():
        raise ValueError(f"[api] listen = {listen!r} is not host:port")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, brackets allowed) is this machine only."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another name, or "" (every interface)


def _public_url(listen: str, public_url: str) -> str:
    host, _ = split_listen(listen)
    if public_url and not public_url.startswith(("https://", "http://")):
        raise ValueError(f"[api] public_url = {public_url!r} is not an http(s):// URL")
    if not public_url and not is_loopback(host):
        raise ValueError(
            f"[api] listen = {listen!r} is not a loopback address, so public_url is required:"
            " the URL clients reach this API at, from which every link is built (built from"
            " a client's Host header instead, links could point users anywhere)")
    return public_url.rstrip("/")


_TLS_KEYS = ("cert_file", "key_file")


def _tls(table: Any, base: Path) -> ApiTls | None:
    """[tls]: both files, relative to the config, readable now (so a missing one
    is said at start, with its name)."""
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ValueError("[tls] must be a table")
    unknown = sorted(set(table) - set(_TLS_KEYS))
    missing = [key for key in _TLS_KEYS if not table.get(key)]
    if unknown or missing:
        raise ValueError("[tls] needs cert_file and key_file, both"
                         + (f" (missing: {', '.join(missing)})" if missing else "")
                         + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    paths = {key: base / str(table[key]) for key in _TLS_KEYS}
    for key, path in paths.items():
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise ValueError(f"[tls] {key} {path} cannot be read: {exc.strerror or exc}") from None
    return ApiTls(paths["cert_file"], paths["key_file"])


def flavors_of(table: Mapping[str, Mapping[str, int]]) -> dict[str, Resources]:
    """Flavors by name from a `[flavors]` table (a tree file's or the API's)."""
    return {str(name): Resources(int(f["vcpus"]), int(f["memory_mb"]), int(f.get("disk_gb", 0)))
            for name, f in table.items()}
