"""Placement policy in a real tree: zones, disabled hosts, ratios, explanations."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.errors import ResourceExhausted
from tests.integration.conftest import HEAD, start_tree

POLICY_TREE = HEAD + """
[cells.z1]
parent = "r1"
driver = "fake"

[cells.z1.selection]
selector = "filter_weigher"
filters = ["alive", "ram", "vcpu", "disk", "availability_zone", "different_host",
           "anti_affinity", "aggregate"]
weighers = [{ name = "instances", multiplier = -1.0 }]

[[cells.z1.hosts]]
name = "h-a"
vcpus = 2
memory_mb = 65536
disk_gb = 100
availability_zone = "az1"
cpu_allocation_ratio = 4.0

[[cells.z1.hosts]]
name = "h-b"
vcpus = 4
memory_mb = 65536
disk_gb = 100
availability_zone = "az2"
aggregates = { ssd = "true" }

[[cells.z1.hosts]]
name = "h-c"
vcpus = 64
memory_mb = 65536
disk_gb = 100
availability_zone = "az2"
enabled = false
"""


@pytest.fixture(scope="module")
def policy_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_tree(tmp_path_factory.mktemp("policy"), POLICY_TREE)
    yield runner
    runner.stop()


def test_zone_hint_picks_the_zone_and_a_disabled_host_is_never_used(
    policy_tree: TreeRunner,
) -> None:
    with CellClient(policy_tree.top_address) as top:
        in_az2 = [top.boot(boot_spec(f"az2-{n}", 1, 256, hints={"availability_zone": "az2"}))
                  for n in range(4)]
        assert {i.host for i in in_az2} == {"h-b"}  # h-c is in az2 too, but disabled
        with pytest.raises(ResourceExhausted) as caught:
            top.boot(boot_spec("az2-full", 1, 256, hints={"availability_zone": "az2"}))
        message = caught.value.message
        assert "vcpu: 1 of 3 hosts" in message  # h-b is full
        assert "enabled: 1 of 3 hosts" in message  # h-c
        assert "availability_zone: 1 of 3 hosts" in message  # h-a
        assert "top!r1!z1" in message  # the explanation names the level
        for instance in in_az2:
            top.delete(instance.uuid, wait=True)


def test_allocation_ratio_lets_a_host_take_more_than_its_cores(
    policy_tree: TreeRunner,
) -> None:
    with CellClient(policy_tree.top_address) as top:
        booted = [top.boot(boot_spec(f"dense-{n}", 1, 256, hints={"availability_zone": "az1"}))
                  for n in range(8)]  # 2 cores x 4.0
        assert {i.host for i in booted} == {"h-a"}
        with pytest.raises(ResourceExhausted, match="vcpu"):
            top.boot(boot_spec("dense-9", 1, 256, hints={"availability_zone": "az1"}))
        for instance in booted:
            top.delete(instance.uuid, wait=True)


def test_different_host_hint_keeps_instances_apart(policy_tree: TreeRunner) -> None:
    with CellClient(policy_tree.top_address) as top:
        first = top.boot(boot_spec("apart-1", 1, 256))
        second = top.boot(boot_spec("apart-2", 1, 256, hints={"different_host": first.uuid}))
        assert second.host != first.host
        top.delete(first.uuid, wait=True)
        top.delete(second.uuid, wait=True)


def test_plugins_command_lists_the_standard_plugins() -> None:
    done = subprocess.run([sys.executable, "-m", "cellops.cli", "plugins", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert {"random", "filter_weigher"} <= set(listed["cellrouter.selectors"])
    assert "availability_zone" in listed["cellrouter.filters"]
    assert "instances" in listed["cellrouter.weighers"]


def test_a_cell_naming_a_missing_filter_does_not_start(tmp_path: Path) -> None:
    broken = POLICY_TREE.replace('"aggregate"]', '"aggregate", "gpu"]')
    assert broken != POLICY_TREE
    with pytest.raises(RuntimeError, match=r"no cellrouter\.filters plugin named 'gpu'"):
        start_tree(tmp_path, broken)


def test_anti_affinity_spreads_a_group_and_says_when_it_cannot(
    policy_tree: TreeRunner,
) -> None:
    hints = {"group": "web", "group_policy": "anti-affinity"}
    with CellClient(policy_tree.top_address) as top:
        first = top.boot(boot_spec("g-1", 1, 256, hints=hints))
        second = top.boot(boot_spec("g-2", 1, 256, hints=hints))
        assert {first.host, second.host} == {"h-a", "h-b"}
        with pytest.raises(ResourceExhausted, match="anti_affinity: 2 of 3 hosts"):
            top.boot(boot_spec("g-3", 1, 256, hints=hints))
        top.delete(first.uuid, wait=True)
        third = top.boot(boot_spec("g-3", 1, 256, hints=hints))
        assert third.host == first.host  # the freed host takes the group again
        for instance in (second, third):
            top.delete(instance.uuid, wait=True)


def test_a_groups_max_per_host_rule_reaches_the_anti_affinity_filter(
    policy_tree: TreeRunner,
) -> None:
    hints = {"group": "pairs", "group_policy": "anti-affinity", "group_max_per_host": "2"}
    with CellClient(policy_tree.top_address) as top:
        made = [top.boot(boot_spec(f"pair-{n}", 1, 256, hints=hints)) for n in range(4)]
        assert sorted(i.host for i in made) == ["h-a", "h-a", "h-b", "h-b"]
        with pytest.raises(ResourceExhausted, match="anti_affinity: 2 of 3 hosts"):
            top.boot(boot_spec("pair-4", 1, 256, hints=hints))
        for instance in made:
            top.delete(instance.uuid, wait=True)


def test_soft_affinity_packs_a_group_against_the_spreading_weigher(
    policy_tree: TreeRunner,
) -> None:
    """z1 weighs instances at -1 (spread); a soft-affinity group still goes to
    the host holding its members, and a soft-anti-affinity group apart, and
    past what the hosts allow it is placed anyway, never refused."""
    together = {"group": "pack", "group_policy": "soft-affinity"}
    apart = {"group": "spread", "group_policy": "soft-anti-affinity"}
    with CellClient(policy_tree.top_address) as top:
        packed = [top.boot(boot_spec(f"pack-{n}", 1, 256, hints=together)) for n in range(3)]
        assert len({i.host for i in packed}) == 1, [i.host for i in packed]
        spread = [top.boot(boot_spec(f"spread-{n}", 1, 256, hints=apart)) for n in range(3)]
        hosts = [i.host for i in spread]
        assert set(hosts[:2]) == {"h-a", "h-b"} and hosts[2] in ("h-a", "h-b"), hosts
        for instance in (*packed, *spread):
            top.delete(instance.uuid, wait=True)


def test_aggregate_hint_needs_matching_host_metadata(policy_tree: TreeRunner) -> None:
    with CellClient(policy_tree.top_address) as top:
        fast = top.boot(boot_spec("ssd-1", 1, 256, hints={"aggregate:ssd": "true"}))
        assert fast.host == "h-b"
        with pytest.raises(ResourceExhausted, match="aggregate: 2 of 3 hosts"):
            top.boot(boot_spec("gpu-1", 1, 256, hints={"aggregate:gpu": "true"}))
        top.delete(fast.uuid, wait=True)


def test_dry_run_ranks_without_building(policy_tree: TreeRunner) -> None:
    with CellClient(policy_tree.top_address) as top:
        before = len(top.list().instances)
        plan = top.plan(boot_spec("maybe", 1, 256, hints={"availability_zone": "az2"}))
        assert [(o.cell_path, o.host) for o in plan.ranked] == [("top!r1!z1", "h-b")]
        assert plan.explanations[0].startswith("top:")
        assert any("availability_zone: 1 of 3 hosts" in e for e in plan.explanations)
        assert len(top.list().instances) == before
    done = subprocess.run(
        [sys.executable, "-m", "cellops.cli", "boot", "maybe", "--vcpus", "1", "--memory-mb",
         "256", "--dry-run", "--cell", policy_tree.top_address],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "top!r1!z1" in done.stdout and "RANK" in done.stdout
