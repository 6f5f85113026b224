"""Which keys a compute body carries at each microversion: the one table.

Strict clients (Tempest checks every answer against Nova's JSON schemas,
`additionalProperties: false`) refuse a field sent before the microversion
that brought it as surely as one missing after it. The views
(api.compute.views, api.compute.flavor_views) make every value they know; the
functions here say which keys a body keeps. Truth is Nova's api-ref and
Tempest's schemas (`tempest.lib.api_schema.response.compute.v2_N`), which the
unit tests validate the bodies against.

    server keys                              since  who    bodies
    id, name, links                          2.1    all    every one
    status, tenant_id, user_id, image,       2.1    all    whole servers
      flavor, addresses, created, ...
    OS-EXT-AZ, OS-EXT-STS, OS-SRV-USG,       2.1    all    show, detail
      key_name, security_groups, ...
    OS-EXT-SRV-ATTR: host, hypervisor_       2.1    admin  show, detail
      hostname, instance_name
    OS-EXT-SRV-ATTR: reservation_id, ...     2.3    admin  show, detail
    locked                                   2.9    all    whole servers
    host_status                              2.16   admin  show, detail
    description                              2.19   all    whole servers
    tags                                     2.26   all    whole servers
    key_name (rebuild)                       2.54   all    rebuild
    user_data (rebuild)                      2.57   all    rebuild
    trusted_image_certificates               2.63   all    whole servers
    server_groups                            2.71   all    show, update, rebuild
    locked_reason                            2.73   all    whole servers
    (update and rebuild carry what show does 2.75)
    OS-EXT-SRV-ATTR:hostname                 2.90   all    show, detail
    pinned_availability_zone                 2.96   all    whole servers
    scheduler_hints                          2.100  all    whole servers

    forms that change: a server's flavor is a link before 2.47 and its values
    from then on; its image carries `properties` from 2.98; addresses carry
    OS-EXT-IPS(-MAC) in show and detail (update and rebuild from 2.75); from
    2.69 a server in a cell that does not answer is a partial entry.

    flavor keys                              since  bodies
    id, name, links                          2.1    list, detail
    ram, vcpus, disk, swap, rxtx_factor,     2.1    detail (show, create too)
      OS-FLV-EXT-DATA, OS-FLV-DISABLED,
      os-flavor-access:is_public
    description                              2.55   list, detail
    extra_specs                              2.61   detail

A key of our own (such as the tree's cell path) has no place in any of them:
the dashboard's API (/dashboard/api/instances) says where an instance is.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.microversion import Version


class Body(enum.Enum):
    """The server bodies Nova writes, each with its own keys."""

    BRIEF = "brief"      # an entry of GET /servers
    DETAIL = "detail"    # an entry of GET /servers/detail
    SHOW = "show"        # GET /servers/{id}
    UPDATE = "update"    # PUT /servers/{id}
    REBUILD = "rebuild"  # the rebuild action's answer


EMBEDDED_FLAVOR = Version(2, 47)    # a server's flavor is its values, not a link
DOWN_CELLS = Version(2, 69)         # partial entries, status UNKNOWN, for down cells
CONSISTENT_SERVER = Version(2, 75)  # update and rebuild answer as show does
IMAGE_PROPERTIES = Version(2, 98)   # a server's image carries its properties


@dataclass(frozen=True, slots=True)
class Keys:
    """Keys that a body carries from microversion `since` on."""

    names: tuple[str, ...]
    since: Version
    bodies: frozenset[Body]
    admin: bool = False  # only admins see them


_V = Version
_WHOLE = frozenset({Body.DETAIL, Body.SHOW, Body.UPDATE, Body.REBUILD})
_LISTED = frozenset({Body.DETAIL, Body.SHOW})
_SHOWN = frozenset({Body.SHOW, Body.UPDATE, Body.REBUILD})  # never in a list

SERVER_KEYS = (
    Keys(("id", "name", "links"), _V(2, 1), frozenset(Body)),
    Keys(("status", "tenant_id", "user_id", "metadata", "hostId", "image", "flavor",
          "created", "updated", "addresses", "accessIPv4", "accessIPv6",
          "OS-DCF:diskConfig", "progress", "fault"), _V(2, 1), _WHOLE),
    Keys(("OS-EXT-AZ:availability_zone", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state",
          "OS-EXT-STS:task_state", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at",
          "os-extended-volumes:volumes_attached", "security_groups", "key_name",
          "config_drive"), _V(2, 1), _LISTED),
    Keys(("OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname",
          "OS-EXT-SRV-ATTR:instance_name"), _V(2, 1), _LISTED, admin=True),
    Keys(("OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
          "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id",
          "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:root_device_name",
          "OS-EXT-SRV-ATTR:user_data"), _V(2, 3), _LISTED, admin=True),
    Keys(("locked",), _V(2, 9), _WHOLE),
    Keys(("host_status",), _V(2, 16), _LISTED, admin=True),
    Keys(("description",), _V(2, 19), _WHOLE),
    Keys(("tags",), _V(2, 26), _WHOLE),
    Keys(("key_name",), _V(2, 54), frozenset({Body.REBUILD})),
    Keys(("user_data",), _V(2, 57), frozenset({Body.REBUILD})),
    Keys(("trusted_image_certificates",), _V(2, 63), _WHOLE),
    Keys(("server_groups",), _V(2, 71), _SHOWN),
    Keys(("locked_reason",), _V(2, 73), _WHOLE),
    Keys(("OS-EXT-SRV-ATTR:hostname",), _V(2, 90), _LISTED),
    Keys(("pinned_availability_zone",), _V(2, 96), _WHOLE),
    Keys(("scheduler_hints",), _V(2, 100), _WHOLE),
)

# 2.69: what Nova's api-ref gives for a server in a cell that does not answer
# (a show there would add the flavor, image and zone the API database keeps;
# the tree's index knows only these).
PARTIAL_KEYS: Mapping[Body, frozenset[str]] = {
    Body.BRIEF: frozenset({"id", "status", "links"}),
    Body.DETAIL: frozenset({"id", "status", "tenant_id", "created", "links"}),
    Body.SHOW: frozenset({"id", "status", "tenant_id", "created", "links"}),
}

# No adminPass: the tree sets no guest password (Nova with enable_instance_password
# off answers without it too).
CREATE_KEYS = frozenset({"id", "links", "OS-DCF:diskConfig", "security_groups"})

_FLAVOR_LIST = frozenset({Body.BRIEF, Body.DETAIL})
FLAVOR_KEYS = (
    Keys(("id", "name", "links"), _V(2, 1), _FLAVOR_LIST),
    Keys(("ram", "vcpus", "disk", "swap", "OS-FLV-EXT-DATA:ephemeral", "rxtx_factor",
          "OS-FLV-DISABLED:disabled", "os-flavor-access:is_public"), _V(2, 1),
         frozenset({Body.DETAIL})),
    Keys(("description",), _V(2, 55), _FLAVOR_LIST),
    Keys(("extra_specs",), _V(2, 61), frozenset({Body.DETAIL})),
)


def server_keys(version: Version, body: Body, admin: bool) -> frozenset[str]:
    """The keys of a server `body` at `version`, for an admin or not."""
    bodies = {body}
    if body in (Body.UPDATE, Body.REBUILD) and version >= CONSISTENT_SERVER:
        bodies.add(Body.SHOW)
    keys = _keys(SERVER_KEYS, version, bodies, admin)
    if body is Body.REBUILD and version >= CONSISTENT_SERVER:
        keys -= {"OS-EXT-SRV-ATTR:user_data"}  # rebuild says `user_data` instead
    return keys


def flavor_keys(version: Version, detail: bool) -> frozenset[str]:
    """The keys of a flavor: in a list (GET /flavors) or whole (detail, show, create)."""
    return _keys(FLAVOR_KEYS, version, {Body.DETAIL if detail else Body.BRIEF}, admin=False)


def extended_addresses(version: Version, body: Body) -> bool:
    """Whether addresses carry OS-EXT-IPS:type and OS-EXT-IPS-MAC:mac_addr."""
    return body in _LISTED or version >= CONSISTENT_SERVER


def shape(values: Mapping[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """`values` with only `keys`, in the order the values were made."""
    return {key: value for key, value in values.items() if key in keys}


def _keys(table: Iterable[Keys], version: Version, bodies: set[Body],
          admin: bool) -> frozenset[str]:
    return frozenset(name for row in table
                     if row.since <= version and not bodies.isdisjoint(row.bodies)
                     and (admin or not row.admin)
                     for name in row.names)
