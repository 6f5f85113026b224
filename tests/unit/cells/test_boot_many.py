"""`cellrouter boot NAME --count N`: parsing, names, request ids, the bounded
boots against a fake tree, and the summary."""

from __future__ import annotations

import io
import threading

import pytest

from cellops import boot_many
from cellops.boot_many import Failure, Outcome, boot_all, report, specs_for
from cellops.cli import _parser
from cellops.cli_instances import cmd_boot
from cellops.progress import BootsProgress, ProgressLine
from cellwire.client import boot_spec
from model.compute import BootSpec, Instance, InstanceState, Resources
from model.errors import InvalidArgument, ResourceExhausted

BOOT = ["boot", "web", "--vcpus", "1", "--memory-mb", "64"]


class FakeTree:
    """Boots as the tree does: once per request id (a second boot with the same
    id answers the first's instance); names in `full` find no room. With
    `together`, that many boots must be in flight at once before any ends."""

    def __init__(self, full: frozenset[str] = frozenset(), together: int = 1) -> None:
        self.full = full
        self.made: dict[str, Instance] = {}  # by request id
        self.calls = 0
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(together, timeout=10) if together > 1 else None

    def boot(self, spec: BootSpec) -> Instance:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self._barrier is not None:
                self._barrier.wait()
            if spec.name in self.full:
                raise ResourceExhausted(f"no cell under top could take {spec.name}")
            with self._lock:
                host = "h1" if len(self.made) % 3 else "h2"
                return self.made.setdefault(spec.request_id, Instance(
                    f"uuid-{spec.request_id}", spec.name, InstanceState.ACTIVE, spec.flavor,
                    host=host, cell_path="top!r1!z1" if host == "h1" else "top!r2!z3",
                    request_id=spec.request_id))
        finally:
            with self._lock:
                self.in_flight -= 1


def quiet() -> BootsProgress:
    return BootsProgress(0, ProgressLine(io.StringIO(), isatty=False))


# ------------------------------------------------------------ --count


@pytest.mark.parametrize(("text", "want"), [
    ("1", 1), ("5", 5), ("1000", 1000), ("007", 7),
], ids=["one", "five", "most", "leading-zeros"])
def test_count_takes_a_whole_number_from_1_to_1000(text: str, want: int) -> None:
    assert _parser().parse_args([*BOOT, "--count", text]).count == want


@pytest.mark.parametrize("text", ["0", "1001", "-3", "2.5", "five", "", "³"],
                         ids=["zero", "too-many", "negative", "fraction", "word", "empty",
                              "not-ascii"])
def test_count_refuses_anything_else_saying_what_it_wants(
        text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args([*BOOT, "--count", text])
    assert exit_.value.code == 2
    assert (f"argument --count: a whole number from 1 to 1000, not {text!r}"
            in capsys.readouterr().err)


def test_count_is_one_by_default() -> None:
    assert _parser().parse_args(BOOT).count == 1


@pytest.mark.parametrize(("option", "why"), [
    (["--dry-run"], "--dry-run plans one instance"),
    (["--port", "net0,52:54:00:aa:bb:cc"], "--port binds its NIC to one instance"),
], ids=["dry-run", "port"])
def test_count_does_not_go_with_options_for_one_instance(
        option: list[str], why: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Refused before any cell is called (nothing listens on port 9).
    args = _parser().parse_args([*BOOT, "--count", "2", *option, "--cell", "127.0.0.1:9"])
    assert cmd_boot(args) == 2
    assert capsys.readouterr().err == (
        f"cellrouter: {why}: it cannot go with --count above 1\n")


# ------------------------------------------------------------ names and request ids


def test_names_and_request_ids_count_from_one() -> None:
    spec = boot_spec("web", 2, 512, 10, image="cirros", project="p", target_cell="top!r1")
    specs = specs_for(spec, 3, "base")
    assert [(s.name, s.request_id) for s in specs] == [
        ("web-1", "base-1"), ("web-2", "base-2"), ("web-3", "base-3")]
    assert {(s.flavor, s.image, s.project, s.target_cell, s.uuid) for s in specs} == {
        (Resources(2, 512, 10), "cirros", "p", "top!r1", "")}


def test_the_same_base_gives_the_same_request_ids() -> None:
    spec = boot_spec("web", 1, 64)
    again = boot_spec("web", 1, 64)  # another fresh request id, as on a rerun
    assert spec.request_id != again.request_id
    assert ([s.request_id for s in specs_for(spec, 4, "b")]
            == [s.request_id for s in specs_for(again, 4, "b")])


def test_a_new_base_is_random() -> None:
    assert boot_many.new_base() != boot_many.new_base()


def test_a_base_too_long_for_the_last_request_id_fails_before_any_boot() -> None:
    spec = boot_spec("web", 1, 64)
    assert len(specs_for(spec, 1000, "b" * 250)) == 1000  # b…b-1000 is 255
    with pytest.raises(InvalidArgument, match="request_id is 256 characters long"):
        specs_for(spec, 1000, "b" * 251)


# ------------------------------------------------------------ booting


def test_every_boot_is_sent_and_answered_in_order() -> None:
    tree = FakeTree()
    specs = specs_for(boot_spec("web", 1, 64), 20, "b")
    outcome = boot_all(tree.boot, specs, quiet())
    assert [i.name for i in outcome.booted] == [f"web-{n}" for n in range(1, 21)]
    assert outcome.failures == []
    assert tree.calls == 20


def test_boots_run_so_many_at_a_time_and_no_more() -> None:
    tree = FakeTree(together=4)  # breaks (no boot ends) unless 4 are in flight at once
    specs = specs_for(boot_spec("web", 1, 64), 16, "b")
    outcome = boot_all(tree.boot, specs, quiet(), concurrency=4)
    assert len(outcome.booted) == 16
    assert tree.most_in_flight == 4


def test_a_failed_boot_is_a_failure_with_the_trees_error() -> None:
    tree = FakeTree(full=frozenset({"web-2"}))
    out = io.StringIO()
    outcome = boot_all(tree.boot, specs_for(boot_spec("web", 1, 64), 3, "b"),
                       BootsProgress(3, ProgressLine(out, isatty=False)), concurrency=1)
    assert [i.name for i in outcome.booted] == ["web-1", "web-3"]
    assert outcome.failures == [Failure("web-2", "b-2", "RESOURCE_EXHAUSTED",
                                        "no cell under top could take web-2")]
    assert out.getvalue() == (
        "web-1 booted in top!r2!z3 on h2 (1/3 booted)\n"
        "web-2 failed: RESOURCE_EXHAUSTED: no cell under top could take web-2"
        " (1/3 booted, 1 failed)\n"
        "web-3 booted in top!r1!z1 on h1 (2/3 booted, 1 failed)\n")


def test_a_rerun_with_the_same_base_makes_nothing_new() -> None:
    tree = FakeTree(full=frozenset({"web-2"}))
    first = boot_all(tree.boot, specs_for(boot_spec("web", 1, 64), 3, "b"), quiet())
    tree.full = frozenset()  # room now, for the one that failed
    second = boot_all(tree.boot, specs_for(boot_spec("web", 1, 64), 3, "b"), quiet())
    assert [i.uuid for i in second.booted] == ["uuid-b-1", "uuid-b-2", "uuid-b-3"]
    assert {i.uuid for i in first.booted} < {i.uuid for i in second.booted}
    assert len(tree.made) == 3


# ------------------------------------------------------------ the summary


def instance(name: str, path: str, host: str) -> Instance:
    return Instance(f"u-{name}", name, InstanceState.ACTIVE, Resources(1, 64, 0),
                    host=host, cell_path=path)


def test_the_summary_counts_per_cell_and_host() -> None:
    outcome = Outcome((instance("web-1", "top!r1!z1", "h2"), instance("web-2", "top!r2!z3", "h4"),
                       instance("web-3", "top!r1!z1", "h1"), instance("web-4", "top!r1!z1", "h2")))
    assert report(outcome, "b") == [
        "4 of 4 booted",
        "CELL       INSTANCES  HOSTS",
        "top!r1!z1  3          h1:1 h2:2",
        "top!r2!z3  1          h4:1",
    ]


def test_the_summary_lists_the_failures_and_how_to_retry_them() -> None:
    outcome = Outcome((
        instance("web-1", "top!r1!z1", ""),
        Failure("web-2", "b-2", "RESOURCE_EXHAUSTED", "nothing fits"),
        Failure("web-10", "b-10", "DEADLINE_EXCEEDED", "out of time"),
    ))
    assert report(outcome, "b") == [
        "1 of 3 booted",
        "CELL       INSTANCES  HOSTS",
        "top!r1!z1  1          -",
        "2 failed (DEADLINE_EXCEEDED: 1, RESOURCE_EXHAUSTED: 1):",
        "  web-2   RESOURCE_EXHAUSTED: nothing fits",
        "  web-10  DEADLINE_EXCEEDED: out of time",
        "to retry them, run the same command with --request-id b (those booted are not"
        " booted again)",
    ]


def test_the_summary_when_nothing_booted() -> None:
    outcome = Outcome((Failure("web-1", "b-1", "UNAVAILABLE", "top is down"),))
    assert report(outcome, "b")[:3] == [
        "0 of 1 booted", "1 failed (UNAVAILABLE: 1):", "  web-1  UNAVAILABLE: top is down"]


def test_the_summary_shows_the_first_ten_failures_and_counts_the_rest() -> None:
    outcome = Outcome(tuple(Failure(f"web-{n}", f"b-{n}", "RESOURCE_EXHAUSTED", "full")
                            for n in range(1, 26)))
    lines = report(outcome, "b")
    assert lines[:3] == ["0 of 25 booted", "25 failed (RESOURCE_EXHAUSTED: 25):",
                         "  web-1   RESOURCE_EXHAUSTED: full"]
    assert lines[11:13] == ["  web-10  RESOURCE_EXHAUSTED: full",
                            "  and 15 more (--json lists every one)"]
