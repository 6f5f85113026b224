"""The engine's search language: ``criteria [sortby field [asc|desc]] [page N]``, criteria
being ``field=value`` or ``field!=value`` clauses joined by ``and``, values with ``*``
wildcards, matched case-insensitively. A field may hold several values (a VM's tags): ``=``
matches when any of them does, ``!=`` when none does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from virt.fake_ovirt.entities import EngineFault, Network, Vm
from virt.fake_ovirt.state import EngineState

T = TypeVar("T")
Fields = Mapping[str, tuple[str, ...]]  # every value of each searchable field of one item

_SEARCH_TAIL = re.compile(
    r"\s*(?:\bsortby\s+(?P<sort>\w+)(?:\s+(?P<order>asc|desc))?)?"
    r"\s*(?:\bpage\s+(?P<page>\d+))?\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"\s*(?P<field>\w+)\s*(?P<op>!=|=)\s*(?P<value>\"[^\"]*\"|\S+)\s*$")
SEARCH_FIELDS = ("name", "status", "id", "cluster", "host", "description", "tag")
NETWORK_FIELDS = ("name", "id", "description")
_UNSORTABLE = frozenset({"tag"})  # several values per VM


def _vm_fields(state: EngineState, vm: Vm, tag_names: Mapping[str, str]) -> Fields:
    host = state.host(vm.host_id).name if vm.host_id else ""
    return {"name": (vm.name,), "status": (vm.status,), "id": (vm.id,),
            "cluster": ("Default",), "host": (host,), "description": (vm.description,),
            "tag": tuple(tag_names[tag_id] for tag_id in vm.tag_ids)}


def _wildcard(value: str) -> re.Pattern[str]:
    value = value.strip('"')
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.IGNORECASE)


def search_vms(state: EngineState, text: str, limit: int | None) -> list[Vm]:
    """The VMs matching an engine search text, sorted and paged as it asks."""
    tag_names = {tag.id: tag.name for tag in state.tags()}
    rows = [(vm, _vm_fields(state, vm, tag_names)) for vm in state.vms()]
    return search(rows, text, limit, "VMs", SEARCH_FIELDS)


def search_networks(state: EngineState, text: str, limit: int | None) -> list[Network]:
    rows = [(net, {"name": (net.name,), "id": (net.id,), "description": (net.description,)})
            for net in state.networks]
    return search(rows, text, limit, "Networks", NETWORK_FIELDS)


def search(rows: Sequence[tuple[T, Fields]], text: str, limit: int | None, kind: str,
           fields: Sequence[str]) -> list[T]:
    """The items of ``rows`` matching ``text``, sorted and paged; 400 for a bad field."""
    tail = _SEARCH_TAIL.search(text)
    assert tail is not None  # every part of the pattern is optional
    criteria = text[:tail.start()].strip()
    tests: list[tuple[str, bool, re.Pattern[str]]] = []
    for clause in re.split(r"\s+and\s+", criteria, flags=re.IGNORECASE) if criteria else []:
        match = _CLAUSE.match(clause)
        if match is None or match["field"].lower() not in fields:
            raise EngineFault(400, f"[Cannot search {kind}. Invalid search clause: {clause!r}.]")
        tests.append((match["field"].lower(), match["op"] == "=", _wildcard(match["value"])))
    found = [row for row in rows if all(
        any(rx.fullmatch(value) for value in row[1][f]) == eq for f, eq, rx in tests)]
    if tail["sort"]:
        sort = tail["sort"].lower()
        if sort not in fields or sort in _UNSORTABLE:
            raise EngineFault(400, f"[Cannot search {kind}. Cannot sort by {sort!r}.]")
        found.sort(key=lambda row: row[1][sort][0],
                   reverse=(tail["order"] or "").lower() == "desc")
    items = [item for item, _ in found]
    if tail["page"] and limit:
        start = (int(tail["page"]) - 1) * limit
        items = items[start:]
    return items[:limit] if limit is not None else items
