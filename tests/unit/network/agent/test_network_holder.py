"""The network agent's holder with the recording driver: a bound port is
plugged and reported ACTIVE (or ERROR with the driver's reason), an unbound
one unplugged; a restart resumes from its state directory."""

from __future__ import annotations

from pathlib import Path

from agents.reference import Holder
from model.agents import BindingEvent, ObjectState, PlaceSpec, ServiceObject
from network.agent.holder import NetworkHolder
from network.agent.objects import KIND
from network.agent.recording import RecordingDriver

NET = "aaaaaaaa-1111-4000-8000-000000000001"


def port(uuid: str, port_id: str, state: ObjectState = ObjectState.PENDING,
         **changes: str) -> ServiceObject:
    hints = {"port_id": port_id, "network_id": NET, "mac": "fa:16:3e:00:00:01",
             "network_type": "vlan", "segmentation_id": "100", "physical_network": "physnet1",
             "host": "h1", **changes}
    spec = PlaceSpec(f"req-{uuid}", f"port-{port_id}", KIND, (), tuple(sorted(hints.items())))
    return ServiceObject(uuid, spec, "net-h1", state=state)


def bind(revision: int, obj: ServiceObject) -> BindingEvent:
    return BindingEvent(revision, obj, bound=True)


def unbind(revision: int, obj: ServiceObject) -> BindingEvent:
    return BindingEvent(revision, obj, bound=False)


def holder(tmp_path: Path, driver: RecordingDriver) -> NetworkHolder:
    made = NetworkHolder(tmp_path, driver, "net-h1", "h1")
    _: Holder = made  # it is what agents.reference.Agent drives
    return made


def test_a_bound_port_is_plugged_and_active_and_unbound_unplugged(tmp_path: Path) -> None:
    driver = RecordingDriver()
    agent = holder(tmp_path, driver)
    assert agent.apply(bind(1, port("o1", "p1"))) == (ObjectState.ACTIVE, "")
    assert (driver.wired(), agent.revision, agent.describe().load) == ({"p1"}, 1, 1)
    assert agent.apply(unbind(2, port("o1", "p1"))) is None
    assert (driver.wired(), agent.revision, agent.describe().load) == (set(), 2, 0)
    assert driver.calls == [("plug", "p1"), ("unplug", "p1")]


def test_it_reports_as_a_network_agent_offering_its_driver(tmp_path: Path) -> None:
    report = NetworkHolder(tmp_path, RecordingDriver(), "net-h1", "h1", "az1").describe()
    assert (report.id, report.host, report.kind, report.capabilities,
            report.availability_zone, report.load) == (
        "net-h1", "h1", "network", ("recording",), "az1", 0)


def test_a_driver_failure_is_error_with_its_reason(tmp_path: Path) -> None:
    driver = RecordingDriver(fail={"p1": "no physical interface for physnet1"})
    agent = holder(tmp_path, driver)
    assert agent.apply(bind(1, port("o1", "p1"))) == (
        ObjectState.ERROR, "no physical interface for physnet1")
    assert agent.apply(unbind(2, port("o1", "p1"))) is None  # unplugged, failing, let go
    assert (agent.held(), agent.revision) == ({}, 2)


def test_malformed_hints_are_error_and_nothing_is_plugged(tmp_path: Path) -> None:
    driver = RecordingDriver()
    agent = holder(tmp_path, driver)
    state, why = agent.apply(bind(1, port("o1", "p1", segmentation_id="0"))) or (None, "")
    assert state is ObjectState.ERROR and "segmentation_id is 1 to 4094" in why
    assert (driver.calls, agent.held(), agent.revision) == ([], {}, 1)


def test_a_resync_reports_only_what_the_cell_does_not_know(tmp_path: Path) -> None:
    agent = holder(tmp_path, RecordingDriver())
    assert agent.apply(bind(5, port("o1", "p1", ObjectState.ACTIVE))) is None
    assert agent.apply(bind(5, port("o2", "p2", ObjectState.ERROR))) == (ObjectState.ACTIVE, "")


def test_keep_only_lets_go_of_the_rest(tmp_path: Path) -> None:
    driver = RecordingDriver()
    agent = holder(tmp_path, driver)
    for n in (1, 2, 3):
        agent.apply(bind(n, port(f"o{n}", f"p{n}")))
    agent.keep_only({"o2"})
    agent.reached(9)
    assert (set(agent.held()), driver.wired(), agent.revision) == ({"o2"}, {"p2"}, 9)


def test_a_restart_resumes_from_the_state_directory(tmp_path: Path) -> None:
    first = holder(tmp_path, RecordingDriver())
    for n in (1, 2):
        first.apply(bind(n, port(f"o{n}", f"p{n}")))
    first.reached(7)

    driver = RecordingDriver()  # a new process: nothing wired yet
    again = holder(tmp_path, driver)
    assert (again.revision, set(again.held()), again.describe().load) == (7, {"o1", "o2"}, 2)
    assert again.resume() == {}
    assert driver.wired() == {"p1", "p2"}
    again.apply(unbind(8, port("o1", "p1")))
    assert (driver.wired(), holder(tmp_path, RecordingDriver()).revision) == ({"p2"}, 8)


def test_a_restart_that_cannot_plug_resyncs_to_report_it(tmp_path: Path) -> None:
    holder(tmp_path, RecordingDriver()).apply(bind(3, port("o1", "p1")))
    again = holder(tmp_path, RecordingDriver(fail={"p1": "bridge refused"}))
    assert again.resume() == {"o1": "bridge refused"}
    assert again.revision == 0  # the watch sends every object again, each reported
