"""The API process's configuration: one TOML file.

    [api]
    listen = "127.0.0.1:8774"        # HTTP, host:port (port 0: any free port)
    top = "127.0.0.1:50051"          # the top cell's client address (gRPC)
    region = "RegionOne"             # the region the service catalog names
    public_url = ""                  # the catalog's base URL; default http://LISTEN
    users_file = "users.json"        # `cellrouter users add ...`
    keys_dir = "keys"                # `cellrouter api-keys init|rotate --dir ...`
    token_ttl = 3600                 # seconds a token is valid
    top_ca_file = ""                 # the tree's CA (PEM) when the top serves TLS
    top_token_file = ""              # a file holding the API's token for the top
    timeout = 30                     # seconds for one call to the tree
    max_body = 65536                 # bytes; larger request bodies are 413
    dashboard_refresh = 1.0          # seconds between the dashboard's looks at the tree

    [flavors]                        # the flavors users boot by name (id = name)
    small = { vcpus = 1, memory_mb = 2048, disk_gb = 20 }

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
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cells.config import read_toml
from cells.errors import ConfigError
from model.compute import Resources

# Image ids made from names are stable: the same name gives the same id everywhere.
_IMAGE_IDS = uuid.UUID("5f1c2b0e-93a4-4c3e-9c55-1b6f2f0c6e21")


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    name: str
    source: str
    disk_format: str = "qcow2"
    min_disk: int = 0
    min_ram: int = 0


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    source: str
    project: str = ""
    cidr: str = ""

    def visible_to(self, project: str, admin: bool) -> bool:
        return admin or not self.project or self.project == project


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
    flavors: Mapping[str, Resources] = field(default_factory=dict)
    images: tuple[Image, ...] = ()
    networks: tuple[Network, ...] = ()


_API_KEYS = {"listen", "top", "region", "public_url", "users_file", "keys_dir", "token_ttl",
             "top_ca_file", "top_token_file", "timeout", "max_body", "dashboard_refresh"}


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

    def where(key: str) -> Path | None:
        return (base / str(api[key])) if api.get(key) else None

    return ApiConfig(
        listen=str(api["listen"]), top=str(api["top"]), region=str(api.get("region", "RegionOne")),
        public_url=str(api.get("public_url", "")).rstrip("/"),
        users_file=where("users_file") or base / "users.json",
        keys_dir=where("keys_dir") or base / "keys",
        token_ttl=float(api.get("token_ttl", 3600)), top_ca_file=where("top_ca_file"),
        top_token_file=where("top_token_file"), timeout=float(api.get("timeout", 30)),
        max_body=int(api.get("max_body", 65536)),
        dashboard_refresh=float(api.get("dashboard_refresh", 1.0)),
        flavors=flavors_of(data.get("flavors", {})),
        images=tuple(_image(entry) for entry in data.get("images", ())),
        networks=tuple(_network(entry) for entry in data.get("networks", ())),
    )


def flavors_of(table: Mapping[str, Mapping[str, int]]) -> dict[str, Resources]:
    """Flavors by name from a `[flavors]` table (a tree file's or the API's)."""
    return {str(name): Resources(int(f["vcpus"]), int(f["memory_mb"]), int(f.get("disk_gb", 0)))
            for name, f in table.items()}


def _image(entry: Mapping[str, Any]) -> Image:
    name = str(entry["name"])
    return Image(id=str(entry.get("id") or uuid.uuid5(_IMAGE_IDS, name)), name=name,
                 source=str(entry.get("source", "")),
                 disk_format=str(entry.get("disk_format", "qcow2")),
                 min_disk=int(entry.get("min_disk", 0)), min_ram=int(entry.get("min_ram", 0)))


def _network(entry: Mapping[str, Any]) -> Network:
    cidr = str(entry.get("cidr", ""))
    if cidr:
        ipaddress.ip_network(cidr)  # ValueError, reported with the file's name
    return Network(name=str(entry["name"]), source=str(entry.get("source") or entry["name"]),
                   project=str(entry.get("project", "")), cidr=cidr)

