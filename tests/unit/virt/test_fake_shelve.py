"""Tests for the fake driver's Shelver ability: shelve keeps the claim,
offload frees the host, unshelve claims again (or cannot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.compute import Action, InstanceState, Resources
from tests.unit.virt.test_fake_driver import host_info, make_driver, spec
from virt.driver import Shelver
from virt.errors import IllegalTransition, InvalidSpec, NoCapacity
from virt.fake import FakeDriver


def offloaded(driver: FakeDriver, flavor: tuple[int, int, int] = (2, 2048, 10)) -> str:
    s = spec(*flavor)
    driver.spawn(s, "h1")
    driver.shelve(s.uuid)
    driver.offload(s.uuid)
    return s.uuid


def test_the_fake_driver_is_a_shelver() -> None:
    assert isinstance(make_driver(), Shelver)


@pytest.mark.parametrize("before", [[], [Action.STOP], [Action.PAUSE], [Action.SUSPEND]],
                         ids=["active", "stopped", "paused", "suspended"])
def test_shelve_keeps_the_instance_and_its_claim_on_its_host(before: list[Action]) -> None:
    driver = make_driver()
    s = spec(2, 2048, 10)
    driver.spawn(s, "h1")
    for action in before:
        driver.act(s.uuid, action)
    shelved = driver.shelve(s.uuid)
    assert (shelved.state, shelved.host) == (InstanceState.SHELVED, "h1")
    assert host_info(driver, "h1").used == Resources(2, 2048, 10)


def test_offload_frees_the_host_and_leaves_the_instance_on_none() -> None:
    driver = make_driver()
    uuid = offloaded(driver)
    got = driver.get(uuid)
    assert (got.state, got.host) == (InstanceState.SHELVED_OFFLOADED, "")
    assert (host_info(driver, "h1").used, host_info(driver, "h1").instances) == (Resources(), 0)
    assert [i.uuid for i in driver.instances()] == [uuid]  # kept


def test_unshelve_of_an_offloaded_instance_claims_the_host_named() -> None:
    driver = make_driver()
    uuid = offloaded(driver)
    back = driver.unshelve(uuid, "h2")
    assert (back.state, back.host) == (InstanceState.ACTIVE, "h2")
    assert host_info(driver, "h2").used == Resources(2, 2048, 10)


@pytest.mark.parametrize("host", ["h2", "dead"], ids=["too-small", "host-down"])
def test_unshelve_onto_a_host_without_room_claims_nothing(host: str) -> None:
    driver = make_driver()
    uuid = offloaded(driver, (4, 4096, 10))  # h2 has 2 vCPUs
    with pytest.raises(NoCapacity, match=f"host {host} cannot hold"):
        driver.unshelve(uuid, host)
    assert driver.get(uuid).state is InstanceState.SHELVED_OFFLOADED
    assert host_info(driver, host).used == Resources()


def test_unshelve_onto_an_unknown_host_is_invalid() -> None:
    driver = make_driver()
    uuid = offloaded(driver)
    with pytest.raises(InvalidSpec, match="no host named 'nope'"):
        driver.unshelve(uuid, "nope")


def test_unshelve_of_a_shelved_instance_stays_on_its_host() -> None:
    driver = make_driver()
    s = spec()
    driver.spawn(s, "h1")
    driver.shelve(s.uuid)
    with pytest.raises(InvalidSpec, match="not offloaded"):
        driver.unshelve(s.uuid, "h2")
    back = driver.unshelve(s.uuid, "")
    assert (back.state, back.host) == (InstanceState.ACTIVE, "h1")


@pytest.mark.parametrize("call", ["offload", "unshelve"])
def test_shelving_out_of_order_is_illegal(call: str) -> None:
    driver = make_driver()
    s = spec()
    driver.spawn(s, "h1")
    with pytest.raises(IllegalTransition):
        driver.offload(s.uuid) if call == "offload" else driver.unshelve(s.uuid, "")
    assert driver.get(s.uuid).state is InstanceState.ACTIVE


def test_an_offloaded_instance_survives_a_restart(tmp_path: Path) -> None:
    driver = make_driver(tmp_path / "hv.db")
    uuid = offloaded(driver)
    driver.close()
    again = make_driver(tmp_path / "hv.db")
    got = again.get(uuid)
    assert (got.state, got.host) == (InstanceState.SHELVED_OFFLOADED, "")
    assert host_info(again, "h1").used == Resources()
