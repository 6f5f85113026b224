"""Bringing a router's index in line with what one child holds.

Run when a child registers (again): it may have restarted, or this cell may
have lost rows. Rows the child has are recorded or corrected; finished rows
it does not have are dropped. A pending row is left to its boot, and when
part of the child's subtree did not answer, nothing is dropped (the instance
may be there).

A child's word goes for its own subtree only: an instance it lists that the
index places in another child, or at a path outside the child's subtree, is
left alone (a row that is really wrong heals when a call finds the instance
missing there, `routing.locate`).
"""

from __future__ import annotations

import logging

from model.cells import ListQuery
from model.compute import Instance, InstanceState
from routing.children import Child
from routing.errors import BadPath
from routing.index import LocationIndex, location_of
from routing.path import CellPath

log = logging.getLogger(__name__)
PAGE = 1000


async def reconcile(index: LocationIndex, child: Child, timeout: float) -> int:
    """Reconcile `index`'s rows for `child`; returns how many rows changed."""
    held, partial = await _held_by(child, timeout)
    changed = 0
    known = {loc.uuid: loc for loc in index.in_child(child.name, limit=1_000_000)}
    for uuid, instance in held.items():
        loc = known.get(uuid)
        if loc is None and not _may_claim(index, child, instance):
            continue
        if loc is None or loc.pending or (loc.cell_path, loc.host, loc.project) != (
                instance.cell_path, instance.host, instance.project):
            index.record(location_of(instance, child.name))
            changed += 1
    if not partial:
        for uuid, loc in known.items():
            if uuid not in held and not loc.pending:
                index.forget(uuid)
                changed += 1
    if changed:
        log.info("reconciled %d index rows with %s", changed, child.path)
    return changed


def _may_claim(index: LocationIndex, child: Child, instance: Instance) -> bool:
    """Whether `child` may add a row for `instance`, which the index does not
    place in it: only one at a path inside its subtree, unknown to the index."""
    try:
        inside = not instance.cell_path or CellPath.parse(child.path).contains(
            CellPath.parse(instance.cell_path))
    except BadPath:
        inside = False
    other = index.lookup(instance.uuid)
    if inside and other is None:
        return True
    log.warning("cell %s lists %s at %r, which is %s: left alone", child.path, instance.uuid,
                instance.cell_path[:255], f"in cell {other.child}" if other is not None
                else "outside its subtree")
    return False


async def _held_by(child: Child, timeout: float) -> tuple[dict[str, Instance], bool]:
    """Every instance `child` lists (by uuid), and whether part of it was silent."""
    held: dict[str, Instance] = {}
    token, partial = "", False
    while True:
        page = await child.link().list(ListQuery(limit=PAGE, page_token=token), timeout=timeout)
        partial = partial or bool(page.unreachable_cells)
        held.update((i.uuid, i) for i in page.instances if i.state is not InstanceState.UNKNOWN)
        if not page.next_page_token:
            return held, partial
        token = page.next_page_token
