"""A Nova create-server body turned into the tree's boot requests.

    name, flavorRef, imageRef | block_device_mapping_v2[boot_index 0, image],
    networks: "auto" | "none" | [{"uuid": NET, "fixed_ip": IP}, ...],
    availability_zone, min_count/max_count, and "os:scheduler_hints" beside
    "server". Other keys are ignored, as Nova's older microversions did.

A network entry must name a configured network the caller may use
(`[[networks]]`); it becomes a pre-bound port on that network, with a MAC made
from the project, the boot's request id and the entry's place, so a retried
request asks for the very same ports. Images and networks go down the tree by
id and name; the top checks them again and each leaf turns them into its own
sources (model.catalog): these checks are the first line, not the only one.

A boot's request id (its idempotency key in the tree) is the client's
X-OpenStack-Request-ID with a digest of the project and the body: the same
request sent again builds nothing new, while another request that carries the
same id (clients may send one id with every request, for tracing) is another
boot. A request for N servers is N boots named NAME-1..NAME-N, with request
ids NAME's followed by -1..-N.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from api.config import ApiConfig
from api.errors import BadRequest
from api.hints import scheduler_hints
from api.identity.tokens import TokenInfo
from model.catalog import Image, Network, check_fixed_ip, port_mac
from model.compute import BootSpec, Port, Resources
from model.errors import InvalidArgument

MAX_COUNT = 100
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class Boots:
    """What a create asks for: its boots, and how many must succeed."""

    specs: list[BootSpec]
    min_count: int


def boot_specs(body: Mapping[str, Any], config: ApiConfig, who: TokenInfo,
               request_id: str, uploaded: Callable[[str], bool] | None = None,
               key_body: Mapping[str, Any] | None = None) -> Boots:
    """The boots of a create body; BadRequest for what cannot boot. Only the
    tree's images ([[images]]) boot: one uploaded through the image API
    (`uploaded` says which ids are) has no copy in the tree's cells, and is
    refused with a 400 that says so rather than sent down to fail.
    `key_body`: the body the idempotency key is made of, when `body` is only
    part of the request (the network service's ports taken out of it)."""
    server = body.get("server")
    if not isinstance(server, dict):
        raise BadRequest("The request body must have a 'server' object.")
    name = _text(server, "name", required=True)
    flavor = _flavor(config, _text(server, "flavorRef", required=True))
    image = _image(config, server, uploaded)
    if image is not None:
        _check_fits(image, flavor)
    hints = _hints(body.get("os:scheduler_hints", {}), _text(server, "availability_zone"),
                   who.project)
    low, high = _count(server)
    key = boot_key(request_id, who.project, key_body if key_body is not None else body)
    specs = []
    for n in range(1, high + 1):
        rid = key if high == 1 else f"{key}-{n}"
        specs.append(BootSpec(
            uuid="", request_id=rid, name=name if high == 1 else f"{name}-{n}",
            flavor=flavor, image=image.id if image else "",
            ports=_ports(server.get("networks", "auto"), rid, config, who), hints=hints,
            project=who.project))
    return Boots(specs, low)


def boot_key(request_id: str, project: str, body: Mapping[str, Any]) -> str:
    """The idempotency key of a create: its request id and what it asks, in one."""
    canonical = json.dumps([project, body], sort_keys=True, separators=(",", ":"))
    return f"{request_id}-{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def _text(server: Mapping[str, Any], key: str, required: bool = False) -> str:
    value = server.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 255:
        raise BadRequest(f"Invalid input for field/attribute {key}: it must be a string of"
                         " 1 to 255 characters.")
    return value


def _flavor(config: ApiConfig, ref: str) -> Resources:
    flavor_id = ref.rstrip("/").rpartition("/")[2]  # an id, or a link to one
    flavor = config.flavors.get(flavor_id)
    if flavor is None:
        raise BadRequest(f"Flavor {flavor_id[:64]} could not be found.")
    return flavor


def _image(config: ApiConfig, server: Mapping[str, Any],
           uploaded: Callable[[str], bool] | None) -> Image | None:
    ref = _text(server, "imageRef") or _bdm_image(server.get("block_device_mapping_v2", []))
    if not ref:
        return None
    image_id = ref.rstrip("/").rpartition("/")[2]
    for image in config.images:
        if image_id == image.id:
            return image
    if uploaded is not None and uploaded(image_id):
        raise BadRequest(f"Image {image_id} was uploaded through the image API and has no"
                         " copy in the tree's cells, so no server can boot from it: boot"
                         " from one of the tree's images ([[images]] of its tree file).")
    raise BadRequest(f"Image {image_id[:64]} could not be found among the tree's images"
                     " ([[images]] of its tree file); an image uploaded through the image"
                     " API has no copy in the tree's cells and cannot boot a server.")


def _bdm_image(mappings: Any) -> str:
    if not isinstance(mappings, list):
        raise BadRequest("block_device_mapping_v2 must be a list.")
    for entry in mappings:
        if not isinstance(entry, dict):
            raise BadRequest("Each block_device_mapping_v2 entry must be an object.")
        if entry.get("source_type") == "image" and str(entry.get("boot_index")) == "0":
            return str(entry.get("uuid", ""))
    return ""


def _check_fits(image: Image, flavor: Resources) -> None:
    if image.min_disk and flavor.disk_gb < image.min_disk:
        raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is"
                         f" {flavor.disk_gb} GB, image {image.name} needs {image.min_disk} GB.")
    if image.min_ram and flavor.memory_mb < image.min_ram:
        raise BadRequest(f"Flavor's memory is too small for requested image. Flavor has"
                         f" {flavor.memory_mb} MB, image {image.name} needs {image.min_ram} MB.")


def _ports(networks: Any, request_id: str, config: ApiConfig,
           who: TokenInfo) -> tuple[Port, ...]:
    if networks in ("auto", "none"):
        return ()
    if not isinstance(networks, list):
        raise BadRequest("networks must be 'auto', 'none' or a list of networks.")
    ports = []
    for n, entry in enumerate(networks):
        if not isinstance(entry, dict):
            raise BadRequest("Each networks entry must be an object.")
        name, ip = entry.get("uuid"), entry.get("fixed_ip", "")
        if not isinstance(name, str) or not name or not isinstance(ip, str):
            raise BadRequest("A networks entry needs a 'uuid' (the network) and may have a"
                             " 'fixed_ip', both strings.")
        network = _network(config, who, name)
        try:
            check_fixed_ip(network, ip)
        except InvalidArgument as exc:
            raise BadRequest(f"{exc.message[:1].upper()}{exc.message[1:]}.") from None
        ports.append(Port(network=network.name, mac=port_mac(who.project, request_id, n),
                          ip=ip))
    return tuple(ports)


def _network(config: ApiConfig, who: TokenInfo, name: str) -> Network:
    for network in config.networks:
        if network.name == name and network.visible_to(who.project, who.admin):
            return network
    raise BadRequest(f"Network {name[:64]} could not be found.")


def _hints(raw: Any, zone: str, project: str) -> tuple[tuple[str, str], ...]:
    hints = scheduler_hints(raw, "os:scheduler_hints")
    # Server groups are the project's own, as in Nova: a member cannot join another's.
    if "group" in hints:
        hints["group"] = f"{project}:{hints['group']}"
    if zone:
        hints["availability_zone"] = zone.partition(":")[0]  # Nova's ZONE:HOST:NODE
    return tuple(sorted(hints.items()))


def _count(server: Mapping[str, Any]) -> tuple[int, int]:
    low, high = server.get("min_count", 1), server.get("max_count", server.get("min_count", 1))
    for value in (low, high):
        if (isinstance(value, bool) or not isinstance(value, int | str)
                or not _DIGITS.fullmatch(str(value))):
            raise BadRequest("min_count and max_count must be positive integers.")
    low, high = int(low), int(high)
    if not 1 <= low <= high or high > MAX_COUNT:
        raise BadRequest(f"min_count and max_count must satisfy 1 <= min_count <= max_count"
                         f" <= {MAX_COUNT}.")
    return low, high
