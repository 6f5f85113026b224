"""A Nova create-server body turned into the tree's boot requests.

    name, flavorRef, imageRef | block_device_mapping_v2[boot_index 0, image],
    networks: "auto" | "none" | [{"uuid": NET, "fixed_ip": IP}, ...],
    availability_zone, min_count/max_count, and "os:scheduler_hints" beside
    "server". Other keys are ignored, as Nova's older microversions did.

A network entry becomes a pre-bound port with a MAC made from the request id
and the entry's place, so a retried request asks for the very same ports. A
request for N servers is N boots named NAME-1..NAME-N, each with its own
request id derived from the request's, so a retry of the whole is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from api.config import ApiConfig, Image
from api.errors import BadRequest
from api.identity.tokens import TokenInfo
from model.compute import BootSpec, Port, Resources

MAX_COUNT = 100


def boot_specs(body: Mapping[str, Any], config: ApiConfig, who: TokenInfo,
               request_id: str) -> list[BootSpec]:
    server = body.get("server")
    if not isinstance(server, dict):
        raise BadRequest("The request body must have a 'server' object.")
    name = _text(server, "name", required=True)
    flavor = _flavor(config, _text(server, "flavorRef", required=True))
    image = _image(config, server)
    if image is not None:
        _check_fits(image, flavor)
    hints = _hints(body.get("os:scheduler_hints", {}), _text(server, "availability_zone"))
    count = _count(server)
    specs = []
    for n in range(1, count + 1):
        rid = request_id if count == 1 else f"{request_id}-{n}"
        specs.append(BootSpec(
            uuid="", request_id=rid, name=name if count == 1 else f"{name}-{n}",
            flavor=flavor, image=image.source if image else "",
            ports=_ports(server.get("networks", "auto"), rid), hints=hints,
            project=who.project))
    return specs


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


def _image(config: ApiConfig, server: Mapping[str, Any]) -> Image | None:
    ref = _text(server, "imageRef") or _bdm_image(server.get("block_device_mapping_v2", []))
    if not ref:
        return None
    image_id = ref.rstrip("/").rpartition("/")[2]
    for image in config.images:
        if image_id == image.id:
            return image
    raise BadRequest(f"Image {image_id[:64]} could not be found.")


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


def _ports(networks: Any, request_id: str) -> tuple[Port, ...]:
    if networks in ("auto", "none"):
        return ()
    if not isinstance(networks, list):
        raise BadRequest("networks must be 'auto', 'none' or a list of networks.")
    ports = []
    for n, entry in enumerate(networks):
        if not isinstance(entry, dict):
            raise BadRequest("Each networks entry must be an object.")
        if "port" in entry:
            raise BadRequest("Ports by id need a network service, which this cloud does not"
                             " have: give {\"uuid\": NETWORK, \"fixed_ip\": IP} instead.")
        network, ip = entry.get("uuid"), entry.get("fixed_ip", "")
        if not isinstance(network, str) or not network or not isinstance(ip, str):
            raise BadRequest("A networks entry needs a 'uuid' (the network) and may have a"
                             " 'fixed_ip', both strings.")
        ports.append(Port(network=network, mac=mac_for(request_id, n), ip=ip))
    return tuple(ports)


def mac_for(request_id: str, n: int) -> str:
    """A locally administered MAC (fa:16:3e, as OpenStack's), the same for the same
    request and network entry."""
    digest = hashlib.sha256(f"{request_id}/{n}".encode()).digest()
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


def _hints(raw: Any, zone: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise BadRequest("os:scheduler_hints must be an object.")
    hints = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            raise BadRequest(f"Scheduler hint {str(key)[:64]} must be a string or a list of"
                             " strings.")
        hints[str(key)] = ",".join(values)
    if zone:
        hints["availability_zone"] = zone.partition(":")[0]  # Nova's ZONE:HOST:NODE
    return tuple(sorted(hints.items()))


def _count(server: Mapping[str, Any]) -> int:
    low, high = server.get("min_count", 1), server.get("max_count", server.get("min_count", 1))
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise BadRequest("min_count and max_count must be positive integers.")
    low, high = int(low), int(high)
    if not 1 <= low <= high or high > MAX_COUNT:
        raise BadRequest(f"min_count and max_count must satisfy 1 <= min_count <= max_count"
                         f" <= {MAX_COUNT}.")
    return high
