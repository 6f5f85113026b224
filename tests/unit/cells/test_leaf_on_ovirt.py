"""A leaf cell on the oVirt driver, against the fake engine in-process: what the leaf
tells the cells above it, how it refuses pause, and the Correlation-Id it passes on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bestmatch.selectors import RandomSelector
from cellrouter.v1 import cells_pb2 as pb
from cells.backend import Identity
from cells.edge.servicers import CellsServicer
from cells.leaf import LeafCell
from cellwire import wire
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, InstanceState
from model.errors import FailedPrecondition
from routing.index import LocationIndex
from tests.unit.fakes import FakeContext

sdk = pytest.importorskip("ovirtsdk4", reason="ovirt-engine-sdk-python is not installed")
from virt.fake_ovirt import FakeEngine  # noqa: E402
from virt.ovirt_driver import OvirtDriver  # noqa: E402

PATH = "top!legacy"


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    with FakeEngine(transition_delay=0.01, hosts=1, host_memory_mb=8192, host_cpus=4) as made:
        yield made


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LocationIndex]:
    opened = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    yield opened
    opened.close()


def leaf_on(engine: FakeEngine, index: LocationIndex) -> LeafCell:
    connection = sdk.Connection(url=engine.url, username="admin@internal", password="secret",
                                insecure=True)
    driver = OvirtDriver(connection, disk_gb=100, settle_timeout=10)
    identity = Identity("legacy", "127.0.0.1:7000", PATH, CellKind.LEAF)
    return LeafCell(identity, driver, index, RandomSelector(seed=1))


def test_the_leaf_reports_its_actions_and_why_pause_is_missing(
    engine: FakeEngine, index: LocationIndex
) -> None:
    async def main() -> None:
        leaf = leaf_on(engine, index)
        try:
            (info,) = leaf.leaves()
            assert (info.path, info.address) == ("", "127.0.0.1:7000")  # relative: itself
            assert not info.supports(Action.PAUSE) and not info.supports(Action.UNPAUSE)
            assert info.supports(Action.SUSPEND) and info.supports(Action.REBOOT_HARD)
            assert dict(info.refusals)["pause"].startswith("oVirt has no pause")
        finally:
            await leaf.close()

    asyncio.run(main())


def test_pause_is_refused_naming_the_cell_and_nothing_reaches_the_engine(
    engine: FakeEngine, index: LocationIndex
) -> None:
    async def main() -> None:
        leaf = leaf_on(engine, index)
        try:
            vm = await leaf.boot(boot_spec("web", 1, 512), Call())
            before = len(engine.requests)
            with pytest.raises(FailedPrecondition) as refused:
                await leaf.act(vm.uuid, Action.PAUSE, True, Call(request_id="refused-1"))
            assert f"cell {PATH} cannot pause" in refused.value.message
            assert "suspend hibernates" in refused.value.message
            assert engine.requests[before:] == []
            assert (await leaf.get(vm.uuid, Call())).state is InstanceState.ACTIVE
        finally:
            await leaf.close()

    asyncio.run(main())


def test_every_engine_call_of_an_action_carries_the_callers_request_id(
    engine: FakeEngine, index: LocationIndex
) -> None:
    async def main() -> None:
        leaf = leaf_on(engine, index)
        # Through the gRPC edge, which sets the request id for the whole call.
        edge = CellsServicer(leaf, leaf.identity, max_hops=10)
        try:
            spec = boot_spec("web", 1, 512)
            vm = await edge.Boot(wire.boot_to_pb(spec),
                                 FakeContext([("x-request-id", "not-the-boot-key")]))
            booted = [r for r in engine.requests if r.method == "POST" and r.path.endswith("/vms")]
            assert [r.correlation_id for r in booted] == [spec.request_id]

            before = len(engine.requests)
            done = pb.Instance.FromString(await edge.routed(
                "Suspend", pb.ActionRequest(uuid=vm.uuid, wait=True).SerializeToString(),
                FakeContext([("x-request-id", "trace-42")])))
            assert done.state == pb.InstanceState.Value("SUSPENDED")
            seen = engine.requests[before:]
            assert any(r.path.endswith("/suspend") for r in seen)
            assert {r.correlation_id for r in seen} == {"trace-42"}
        finally:
            await leaf.close()

    asyncio.run(main())
