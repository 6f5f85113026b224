"""The API's routes: each maps a method and a path below the API root to a function that
answers a ``Call`` with a ``Reply``, reading and changing the ``EngineState``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from virt.fake_ovirt.entities import EngineFault, HostUsage, NotFound
from virt.fake_ovirt.search import search_networks, search_vms
from virt.fake_ovirt.state import ACTIONS, EngineState
from virt.fake_ovirt.xml import (
    API,
    action_xml,
    api_xml,
    child_text,
    cluster_xml,
    host_xml,
    network_xml,
    nic_spec,
    nic_xml,
    parse_xml,
    statistics_xml,
    tag_xml,
    template_xml,
    vm_spec,
    vm_xml,
    vnic_profile_xml,
)

XML = "application/xml"
JSON = "application/json"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = XML
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    state: EngineState
    args: tuple[str, ...]  # the route's regex groups
    query: Mapping[str, str]
    body: bytes
    base_url: str  # scheme://host:port, for Location headers


def xml_reply(root: ET.Element, status: int = 200) -> Reply:
    return Reply(status, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def json_reply(document: Mapping[str, Any], status: int = 200) -> Reply:
    return Reply(status, json.dumps(document).encode(), JSON)


def _collection(tag: str, items: Sequence[ET.Element]) -> Reply:
    root = ET.Element(tag)
    root.extend(items)
    return xml_reply(root)


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T", bound=_Identified)


def _by_id(items: Sequence[_T], ident: str) -> _T:
    found = next((item for item in items if item.id == ident), None)
    if found is None:
        raise NotFound(ident)
    return found


def _list_hosts(call: Call) -> Reply:
    usages = call.state.usage()
    return _collection("hosts", [host_xml(u, call.state.cluster_id) for u in usages])


def _host_usage(call: Call) -> HostUsage:
    host = call.state.host(call.args[0])
    return next(u for u in call.state.usage() if u.host == host)


def _get_host(call: Call) -> Reply:
    return xml_reply(host_xml(_host_usage(call), call.state.cluster_id))


def _get_cluster(call: Call) -> Reply:
    if call.args[0] != call.state.cluster_id:
        raise NotFound(call.args[0])
    return xml_reply(cluster_xml(call.state.cluster_id))


def _get_template(call: Call) -> Reply:
    template = next((t for t in call.state.templates if t.id == call.args[0]), None)
    if template is None:
        raise NotFound(call.args[0])
    return xml_reply(template_xml(template))


def _limit(call: Call) -> int | None:
    """The ``max`` query parameter; negative or absent means no limit."""
    limit = call.query.get("max")
    if limit is not None and not limit.lstrip("-").isdigit():
        raise EngineFault(400, f"Value of max is not an integer: {limit!r}")
    return int(limit) if limit is not None and int(limit) >= 0 else None


def _list_vms(call: Call) -> Reply:
    vms = search_vms(call.state, call.query.get("search", ""), _limit(call))
    return _collection("vms", [vm_xml(vm, call.state.cluster_id) for vm in vms])


def _created(root: ET.Element, call: Call, path: str, status: int = 201) -> Reply:
    reply = xml_reply(root, status)
    reply.headers["Location"] = f"{call.base_url}{API}/{path}"
    return reply


def _add_vm(call: Call) -> Reply:
    vm = call.state.add_vm(vm_spec(parse_xml(call.body, "vm")))
    return _created(vm_xml(vm, call.state.cluster_id), call, f"vms/{vm.id}",
                    202 if vm.status == "image_locked" else 201)

def _vm_action(call: Call) -> Reply:
    vm_id, action = call.args
    body = parse_xml(call.body, "action")
    try:
        call.state.act(vm_id, action, pause=child_text(body, "pause") == "true")
    except EngineFault as fault:
        return xml_reply(action_xml(fault), fault.status)  # the engine wraps action faults
    return xml_reply(action_xml())


def _remove_vm(call: Call) -> Reply:
    call.state.remove_vm(call.args[0])
    return Reply(200)


def _add_tag(call: Call) -> Reply:
    body = parse_xml(call.body, "tag")
    tag = call.state.add_tag(child_text(body, "name"), child_text(body, "description") or "")
    return _created(tag_xml(tag), call, f"tags/{tag.id}")


def _assign_tag(call: Call) -> Reply:
    vm_id, body = call.args[0], parse_xml(call.body, "tag")
    tag = call.state.assign_tag(vm_id, body.get("id"), child_text(body, "name"))
    return _created(tag_xml(tag, vm_id), call, f"vms/{vm_id}/tags/{tag.id}")


def _vm_tag(call: Call) -> Reply:
    vm_id, tag_id = call.args
    return xml_reply(tag_xml(_by_id(call.state.vm_tags(vm_id), tag_id), vm_id))


def _add_nic(call: Call) -> Reply:
    vm_id = call.args[0]
    nic = call.state.add_nic(vm_id, nic_spec(parse_xml(call.body, "nic")))
    return _created(nic_xml(nic, vm_id), call, f"vms/{vm_id}/nics/{nic.id}")


def _unassign_tag(call: Call) -> Reply:
    call.state.unassign_tag(*call.args)
    return Reply(200)


def _remove_nic(call: Call) -> Reply:
    call.state.remove_nic(*call.args)
    return Reply(200)


def _list_networks(call: Call) -> Reply:
    networks = search_networks(call.state, call.query.get("search", ""), _limit(call))
    return _collection("networks", [network_xml(net) for net in networks])


_Route = Callable[[Call], Reply]
_ROUTES: tuple[tuple[str, re.Pattern[str], _Route], ...] = tuple(
    (method, re.compile(pattern), route) for method, pattern, route in (
        ("GET", "", lambda c: xml_reply(api_xml(c.state))),
        ("GET", "hosts", _list_hosts),
        ("GET", "hosts/([^/]+)", _get_host),
        ("GET", "hosts/([^/]+)/statistics", lambda c: xml_reply(statistics_xml(_host_usage(c)))),
        ("GET", "clusters", lambda c: _collection("clusters", [cluster_xml(c.state.cluster_id)])),
        ("GET", "clusters/([^/]+)", _get_cluster),
        ("GET", "templates", lambda c: _collection(
            "templates", [template_xml(t) for t in c.state.templates])),
        ("GET", "templates/([^/]+)", _get_template),
        ("GET", "vms", _list_vms),
        ("POST", "vms", _add_vm),
        ("GET", "vms/([^/]+)", lambda c: xml_reply(vm_xml(c.state.vm(c.args[0]),
                                                           c.state.cluster_id))),
        ("DELETE", "vms/([^/]+)", _remove_vm),
        ("POST", f"vms/([^/]+)/({'|'.join(ACTIONS)})", _vm_action),
        ("GET", "vms/([^/]+)/tags", lambda c: _collection(
            "tags", [tag_xml(t, c.args[0]) for t in c.state.vm_tags(c.args[0])])),
        ("POST", "vms/([^/]+)/tags", _assign_tag),
        ("GET", "vms/([^/]+)/tags/([^/]+)", _vm_tag),
        ("DELETE", "vms/([^/]+)/tags/([^/]+)", _unassign_tag),
        ("GET", "vms/([^/]+)/nics", lambda c: _collection(
            "nics", [nic_xml(n, c.args[0]) for n in c.state.vm(c.args[0]).nics])),
        ("POST", "vms/([^/]+)/nics", _add_nic),
        ("GET", "vms/([^/]+)/nics/([^/]+)", lambda c: xml_reply(
            nic_xml(c.state.nic(*c.args), c.args[0]))),
        ("DELETE", "vms/([^/]+)/nics/([^/]+)", _remove_nic),
        ("GET", "tags", lambda c: _collection("tags", [tag_xml(t) for t in c.state.tags()])),
        ("POST", "tags", _add_tag),
        ("GET", "tags/([^/]+)", lambda c: xml_reply(tag_xml(c.state.tag(c.args[0])))),
        ("GET", "networks", _list_networks),
        ("GET", "networks/([^/]+)", lambda c: xml_reply(
            network_xml(_by_id(c.state.networks, c.args[0])))),
        ("GET", "vnicprofiles", lambda c: _collection(
            "vnic_profiles", [vnic_profile_xml(p) for p in c.state.profiles])),
        ("GET", "vnicprofiles/([^/]+)", lambda c: xml_reply(
            vnic_profile_xml(_by_id(c.state.profiles, c.args[0])))),
    ))


def route_api(call: Call, method: str, subpath: str) -> Reply:
    """Answer one authenticated API request; ``subpath`` is relative to the API root."""
    allowed = []
    for route_method, pattern, route in _ROUTES:
        match = pattern.fullmatch(subpath)
        if match is None:
            continue
        if route_method == method:
            return route(dataclasses.replace(call, args=match.groups()))
        allowed.append(route_method)
    if allowed:
        return Reply(405, headers={"Allow": ", ".join(allowed)})
    raise NotFound(subpath)


