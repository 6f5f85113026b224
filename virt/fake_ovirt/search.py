"""The engine's search language over VMs: ``criteria [sortby field [asc|desc]] [page N]``,
criteria being ``field=value`` or ``field!=value`` clauses joined by ``and``, values with
``*`` wildcards, matched case-insensitively.
"""

from __future__ import annotations

import re

from virt.fake_ovirt.entities import EngineFault, Vm
from virt.fake_ovirt.state import EngineState

_SEARCH_TAIL = re.compile(
    r"\s*(?:\bsortby\s+(?P<sort>\w+)(?:\s+(?P<order>asc|desc))?)?"
    r"\s*(?:\bpage\s+(?P<page>\d+))?\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"\s*(?P<field>\w+)\s*(?P<op>!=|=)\s*(?P<value>\"[^\"]*\"|\S+)\s*$")
SEARCH_FIELDS = ("name", "status", "id", "cluster", "host", "description")


def _vm_fields(state: EngineState, vm: Vm) -> dict[str, str]:
    host = state.host(vm.host_id).name if vm.host_id else ""
    return {"name": vm.name, "status": vm.status, "id": vm.id, "cluster": "Default",
            "host": host, "description": vm.description}


def _wildcard(value: str) -> re.Pattern[str]:
    value = value.strip('"')
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.IGNORECASE)


def search_vms(state: EngineState, text: str, limit: int | None) -> list[Vm]:
    """The VMs matching an engine search text, sorted and paged as it asks."""
    tail = _SEARCH_TAIL.search(text)
    assert tail is not None  # every part of the pattern is optional
    criteria = text[:tail.start()].strip()
    tests: list[tuple[str, bool, re.Pattern[str]]] = []
    for clause in re.split(r"\s+and\s+", criteria, flags=re.IGNORECASE) if criteria else []:
        match = _CLAUSE.match(clause)
        if match is None or match["field"].lower() not in SEARCH_FIELDS:
            raise EngineFault(400, f"[Cannot search VMs. Invalid search clause: {clause!r}.]")
        tests.append((match["field"].lower(), match["op"] == "=", _wildcard(match["value"])))
    rows = [(vm, _vm_fields(state, vm)) for vm in state.vms()]
    rows = [row for row in rows
            if all(bool(rx.fullmatch(row[1][f])) == eq for f, eq, rx in tests)]
    if tail["sort"]:
        sort = tail["sort"].lower()
        if sort not in SEARCH_FIELDS:
            raise EngineFault(400, f"[Cannot search VMs. Cannot sort by {sort!r}.]")
        rows.sort(key=lambda row: row[1][sort],
                  reverse=(tail["order"] or "").lower() == "desc")
    vms = [vm for vm, _ in rows]
    if tail["page"] and limit:
        start = (int(tail["page"]) - 1) * limit
        vms = vms[start:]
    return vms[:limit] if limit is not None else vms
