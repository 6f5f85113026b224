"""What a leaf tells the outside of its changes (notify/): each event is
written to the leaf's outbox in the transaction of the change it tells of
(`LocationIndex.unit`), and the leaf's index row of the instance keeps the
state last told, so that a state found by reconciliation is compared with
what consumers were last told, also across restarts.

    a boot's pending row          instance.create.start
    the row completed             instance.create.end (also by `recover`)
    the row dropped, boot failed  instance.create.error
    an action's result            instance.<action>.start and .end, together
    a rebuild's result            instance.rebuild.start and .end, together
    a delete's row dropped        instance.delete.start and .end
    a state reconciliation found  instance.update (and instance.update with
                                  state deleted for one that vanished)
    a host found down or up       host.down, host.up

An action's start is written with its end: a start is never told of an
action refused, or of one a crash cut short before it was applied (whose
retry is then told as the action). Without an outbox (notifications off,
the default) none of this writes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import replace

from model.compute import Action, BootSpec, HostInfo, Instance, InstanceState, Resources
from notify import events
from notify.outbox import Outbox
from routing.index import Location, LocationIndex

# The request id of the action this task applies (a cast's task inherits it).
_REQUEST: ContextVar[str] = ContextVar("notified_request", default="")


class LeafNotices:
    def __init__(self, index: LocationIndex, outbox: Outbox | None,
                 path: Callable[[], str]) -> None:
        self._index = index
        self._outbox = outbox
        self._path = path
        self._hosts_up: dict[str, bool] | None = None  # as last found

    @property
    def on(self) -> bool:
        return self._outbox is not None

    @contextmanager
    def together(self) -> Iterator[None]:
        """The block's writes and the events added in it commit as one."""
        with self._index.unit("notification outbox") if self.on else nullcontext():
            yield

    # ------------------------------------------------------------ boots

    def boot_started(self, spec: BootSpec, host: str) -> None:
        self._add(events.instance_event(
            events.CREATE_START, self._of_spec(spec, host, InstanceState.BUILDING),
            request_id=spec.request_id))

    def boot_ended(self, instance: Instance, spec: BootSpec | None = None) -> None:
        self._add(events.instance_event(
            events.CREATE_END, replace(instance, cell_path=self._path()),
            request_id=spec.request_id if spec else ""))

    def boot_failed(self, spec: BootSpec, reason: str) -> None:
        self._add(events.instance_event(
            events.CREATE_ERROR, self._of_spec(spec, "", InstanceState.ERROR),
            request_id=spec.request_id, fault=reason))

    def boot_lost(self, row: Location) -> None:
        """A boot a crash cut short before the hypervisor had the instance."""
        instance = Instance(row.uuid, row.name, InstanceState.ERROR, Resources(),
                            host=row.host, cell_path=self._path(), project=row.project,
                            request_id=row.request_id or "")
        self._add(events.instance_event(events.CREATE_ERROR, instance,
                                        fault="the boot was cut short by a restart"))

    # ---------------------------------------------------------- actions

    def acting(self, request_id: str) -> None:
        """The actions this task applies from now on are `request_id`'s."""
        _REQUEST.set(request_id)

    @contextmanager
    def acted(self, action: Action, result: Instance, began: float) -> Iterator[None]:
        """The block (dropping a deleted instance's rows) and the action's
        start and end events commit together; the row keeps the new state."""
        if not self.on:
            yield
            return
        request_id = _REQUEST.get()
        with self.together():
            yield
            if result.state is not InstanceState.DELETED:
                self._index.set_state(result.uuid, result.state.value, "", result.host)
            told = replace(result, cell_path=self._path())
            self._add(
                events.instance_event(events.action_event(action, "start"), told,
                                      request_id=request_id, at=began),
                events.instance_event(events.action_event(action, "end"), told,
                                      request_id=request_id))

    def rebuilt(self, result: Instance, began: float) -> None:
        """instance.rebuild.start and .end, once the driver rebuilt the disk
        (a rebuild writes no row of its own to share a transaction with: a
        crash between the two loses the pair, never tells one that did not
        happen); the row keeps the new state."""
        if not self.on:
            return
        request_id = _REQUEST.get()
        told = replace(result, cell_path=self._path())
        with self.together():
            self._index.set_state(result.uuid, result.state.value, "", result.host)
            self._add(
                events.instance_event(events.REBUILD_START, told, request_id=request_id,
                                      at=began),
                events.instance_event(events.REBUILD_END, told, request_id=request_id))

    # --------------------------------------------------- reconciliation

    def found(self, instance: Instance) -> None:
        """Reconciliation found `instance` in a state: told when it differs from
        the state last told (the index row's), for an instance booted here."""
        if not self.on:
            return
        row = self._index.lookup(instance.uuid)
        if row is None or row.pending or row.state == instance.state.value:
            return
        with self.together():
            self._index.set_state(instance.uuid, instance.state.value, "", instance.host)
            self._add(events.instance_event(
                events.UPDATE, replace(instance, cell_path=self._path()),
                old_state=row.state))

    @contextmanager
    def vanished(self, uuid: str) -> Iterator[None]:
        """The block drops an instance the hypervisor no longer has: with it,
        an instance.update saying it is deleted."""
        row = self._index.lookup(uuid) if self.on else None
        with self.together():
            yield
            if row is not None:
                gone = Instance(uuid, row.name, InstanceState.DELETED, Resources(),
                                host=row.host, cell_path=self._path(), project=row.project)
                self._add(events.instance_event(events.UPDATE, gone, old_state=row.state))

    def hosts(self, hosts: Sequence[HostInfo]) -> None:
        """host.down or host.up for each host whose liveness changed since the
        last look (the first look after start only remembers)."""
        now = {h.name: h.alive for h in hosts}
        before, self._hosts_up = self._hosts_up, now
        if not self.on or before is None:
            return
        changed = [events.host_event(events.HOST_UP if up else events.HOST_DOWN, name,
                                     self._path())
                   for name, up in now.items() if name in before and before[name] != up]
        if changed:
            self._add(*changed)

    # ---------------------------------------------------------- helpers

    def _of_spec(self, spec: BootSpec, host: str, state: InstanceState) -> Instance:
        return Instance(spec.uuid, spec.name, state, spec.flavor, image=spec.image,
                        host=host, cell_path=self._path(), project=spec.project,
                        request_id=spec.request_id)

    def _add(self, *told: events.Event) -> None:
        if self._outbox is not None:
            self._outbox.add(*told)
