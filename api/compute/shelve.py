"""Shelving: {"shelve": null}, {"shelveOffload": null} and {"unshelve": ...} on
POST /v2.1/servers/{id}/action.

    unshelve body                       since  who
    null                                2.1    the owner, admins
    {"availability_zone": Z}            2.77   the owner, admins; Z only the
                                               server's own zone (its leaf)
    {"host": H} (with or without a      2.91   admins; H a host of the
     null availability_zone)                   server's own leaf

A shelved server stays on its host, powered off; offloaded, it is on no host
(`OS-EXT-SRV-ATTR:host` null) and its leaf keeps it. Unshelved, an offloaded
server goes to a host of its leaf the leaf chooses, or the one named. It
never leaves its leaf: another zone is 400, a host of another leaf 409 (that
would be a migration, which the tree does not do), a host no leaf has 400,
as Nova's unknown host. No snapshot image is made. The owner may also
offload (the tree never offloads by itself; Nova's older default policy let
owners do it too).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.compute import server_edits
from api.compute.fleet import hosts, topology
from api.compute.servers import refuse_if_locked
from api.errors import BadRequest, Conflict, Forbidden
from api.microversion import Version
from api.state import action_metadata, not_found, state, version, who
from model.cells import SEPARATOR
from model.compute import Action, Instance, InstanceState
from model.errors import NotFound

SHELVING = {"shelve": Action.SHELVE, "shelveOffload": Action.SHELVE_OFFLOAD,
            "unshelve": Action.UNSHELVE}
UNSHELVE_ZONE = Version(2, 77)  # unshelve may name an availability zone
UNSHELVE_HOST = Version(2, 91)  # ... and, for admins, a host
_RULE = "os_compute_api:os-shelve:unshelve_to_host"


async def act(request: web.Request, uuid: str, name: str, args: Any) -> web.Response:
    current = await server_edits.current(request)  # 404 first, as Nova
    refuse_if_locked(request, current)
    host = ""
    if name == "unshelve":
        host = await _unshelve_host(request, current, args)
    elif args not in (None, {}):  # Tempest's client sends {}
        raise BadRequest(f"Invalid input for field/attribute {name}: {name} takes null.")
    try:
        await state(request).tree.client.act(uuid, SHELVING[name],
                                             metadata=action_metadata(request), host=host)
    except NotFound:
        raise not_found("Instance", uuid) from None
    return web.Response(status=202)


async def _unshelve_host(request: web.Request, current: Instance, args: Any) -> str:
    """The host an unshelve names ("": its leaf chooses), once its body is checked."""
    if args in (None, {}):  # as null (Tempest's client sends {})
        return ""
    zone, host = _unshelve_args(version(request), args)
    if host and not who(request).admin:
        raise Forbidden(f"Policy doesn't allow {_RULE} to be performed.")
    if (zone or host) and current.state is not InstanceState.SHELVED_OFFLOADED:
        raise Conflict(f"Instance {current.uuid} is {current.state.value.lower()}: only a"
                       " shelved offloaded server is unshelved into a zone or onto a host.")
    own_zone = current.cell_path.rpartition(SEPARATOR)[2]
    if zone and zone != own_zone:
        raise BadRequest(f"The server is in availability zone {own_zone}; it cannot be"
                         f" unshelved into {zone[:64]} (a move between zones is a migration,"
                         " which this cloud does not do).")
    if host:
        await _check_host(request, current, host)
    return host


def _unshelve_args(at: Version, args: Any) -> tuple[str, str]:
    """(zone, host) of an unshelve's object, as Nova's schema for `at` allows
    it: 2.77 a zone (a name); 2.91 a zone (or null) and a host."""
    allowed = {"availability_zone", "host"} if at >= UNSHELVE_HOST else {"availability_zone"}
    if at < UNSHELVE_ZONE or not isinstance(args, dict) or set(args) - allowed:
        raise BadRequest("Invalid input for field/attribute unshelve: it takes null"
                         + (" or an object of availability_zone" if at >= UNSHELVE_ZONE else "")
                         + (" and host" if at >= UNSHELVE_HOST else "") + ".")
    zone, host = args.get("availability_zone"), args.get("host")
    if "availability_zone" in args and not (_name(zone) or (zone is None
                                                           and at >= UNSHELVE_HOST)):
        raise BadRequest("Invalid input for field/attribute availability_zone.")
    if "host" in args and not _name(host):
        raise BadRequest("Invalid input for field/attribute host.")
    return zone or "", host or ""


def _name(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value.strip()) <= 255


async def _check_host(request: web.Request, current: Instance, host: str) -> None:
    """400 for a host no leaf has; 409 for one of another leaf."""
    found = [h for h in hosts(await topology(request)) if h.name == host]
    if not found:
        raise BadRequest(f"Compute host {host[:64]} could not be found.")
    if all(h.cell.path != current.cell_path for h in found):
        raise Conflict(f"Host {host[:64]} is in availability zone {found[0].zone}, not in"
                       f" the server's; it cannot be unshelved there (a move between zones is"
                       " a migration, which this cloud does not do).")
