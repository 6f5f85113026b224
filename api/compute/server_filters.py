"""The filters of a server list that the tree does not apply itself, made
once per request (`keeper`) and asked of each listed server.

    name            a regular expression (RE2: linear time whatever the pattern)
    flavor, image   an id (or a link to one); an unknown flavor keeps nothing
    reservation_id  the multiple create a server came from
    ip, ip6         a regular expression over the server's fixed addresses
    changes-since   updated at or after (ISO 8601); 2.66: changes-before too
    host            (admins) the host a server is on; ignored for members

A server of a cell that did not answer (a partial entry, from 2.69) is kept
only when no filter needs what it lacks. A value Nova refuses is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import re2
from aiohttp import web

from api.compute import flavor_manage
from api.compute.shapes import DOWN_CELLS
from api.errors import BadRequest
from api.microversion import Version
from api.state import version, who
from model.compute import Instance, InstanceState, Resources

CHANGES_BEFORE = Version(2, 66)
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def keeper(request: web.Request) -> Callable[[Instance], bool]:
    """Whether a listed server is kept."""
    params = request.query
    pattern = pattern_of("name", params.get("name"))
    ip = pattern_of("ip", params.get("ip") or params.get("ip6"))
    partial_ok = version(request) >= DOWN_CELLS
    flavor = _flavor(request, params.get("flavor"))
    image = params.get("image", "").rstrip("/").rpartition("/")[2]
    reservation = params.get("reservation_id", "")
    since = _time(params, "changes-since")
    before = _time(params, "changes-before") if version(request) >= CHANGES_BEFORE else None
    host = params.get("host", "") if who(request).admin else ""
    needs_whole = bool(flavor or image or reservation or ip or since or before or host)

    def keep(instance: Instance) -> bool:
        if partial(instance):
            return partial_ok and not needs_whole
        changed = instance.updated_at or instance.created_at
        return ((pattern is None or pattern.search(instance.name) is not None)
                and (flavor is None or instance.flavor == flavor)
                and (not image or instance.image == image)
                and (not reservation or instance.attributes.reservation_id == reservation)
                and (ip is None or any(ip.search(p.ip) for p in instance.ports if p.ip))
                and (since is None or (changed is not None and changed >= since))
                and (before is None or (changed is not None and changed <= before))
                and (not host or instance.host == host))
    return keep


def partial(instance: Instance) -> bool:
    """An entry the index gave for a cell that did not answer (routing.lists: it
    knows no flavor)."""
    return instance.state is InstanceState.UNKNOWN and not instance.flavor.vcpus


def pattern_of(name: str, text: str | None) -> Any:
    if not text:
        return None
    if len(text) > 255:
        raise BadRequest(f"The {name} filter is longer than 255 characters.")
    try:
        return re2.compile(text, _RE2_OPTIONS)
    except Exception as exc:  # re2.error, or its limits (a repeat count too large)
        raise BadRequest(f"Invalid {name} filter (a regular expression): {exc}") from None


def _flavor(request: web.Request, ref: str | None) -> Resources | None:
    """The resources of the flavor a list is filtered by; a flavor no server
    can have when the id is unknown (Nova answers an empty list)."""
    if not ref:
        return None
    flavor_id = ref.rstrip("/").rpartition("/")[2]
    return flavor_manage.bootable_config(request).flavors.get(flavor_id, Resources(-1, -1, -1))


def _time(params: Any, name: str) -> datetime | None:
    text = params.get(name)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid filter field: {name}: {text[:64]!r} is not an ISO 8601"
                         " time.") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
