"""Agents as processes reporting to leaf cells of a real tree: known by their
first report, marked down when they stop, kept until an operator removes them;
bad reports refused with the reason, changing nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.client import AgentsClient
from cells.ops.tree import TreeRunner
from model.agents import AgentReport, Heard
from model.errors import AlreadyExists, InvalidArgument, NotFound
from tests.integration.conftest import HEAD, eventually, start_tree

TREE = HEAD + """
[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
[cells.z1.agents]
down_after = 1.0

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{ name = "h2", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
"""
CLI = [sys.executable, "-m", "cells.ops.cli"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_tree(tmp_path_factory.mktemp("agents"), TREE)
    yield runner
    runner.stop()


def agent_process(cell: str, state: Path, agent_id: str, *caps: str) -> subprocess.Popen[str]:
    args = [*CLI, "agent", "--kind", "loadbalancer", "--cell", cell, "--state-dir", str(state),
            "--id", agent_id, "--host", f"host-{agent_id}", "--interval", "0.2",
            "--availability-zone", "az1"]
    for cap in caps:
        args += ["--capability", cap]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def agents_cli(cell: str, *args: str) -> Any:
    done = subprocess.run([*CLI, "agents", *args, "--cell", cell, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip().startswith("[") else done.stdout


def listed(cell: str) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in agents_cli(cell, "list")}


def test_agents_report_are_marked_down_and_kept_until_removed(
        tree: TreeRunner, tmp_path: Path) -> None:
    z1, z2 = tree.addresses["z1"], tree.addresses["z2"]
    procs = [agent_process(z1, tmp_path / "a", "lb-a", "haproxy"),
             agent_process(z1, tmp_path / "b", "lb-b", "haproxy", "octavia-amphora"),
             agent_process(z2, tmp_path / "c", "lb-c", "haproxy")]
    (tmp_path / "b" / "objects").mkdir(parents=True, exist_ok=True)
    (tmp_path / "b" / "objects" / "vip-1.json").write_text("{}")
    try:
        assert eventually(lambda: set(listed(z1)) == {"lb-a", "lb-b"}, timeout=20)
        assert set(listed(z2)) == {"lb-c"}
        assert eventually(lambda: listed(z1)["lb-b"]["load"] == 1, timeout=10)
        b = listed(z1)["lb-b"]
        assert (b["kind"], b["host"], b["capabilities"], b["availability_zone"], b["alive"],
                b["cell_path"]) == ("loadbalancer", "host-lb-b", ["haproxy", "octavia-amphora"],
                                    "az1", True, "top!r1!z1")

        procs[0].kill()  # lb-a stops reporting: down after a second, and kept
        procs[0].wait()
        assert eventually(lambda: not listed(z1)["lb-a"]["alive"], timeout=10)
        assert listed(z1)["lb-b"]["alive"]

        agents_cli(z1, "disable", "lb-b")
        assert listed(z1)["lb-b"]["enabled"] is False
        agents_cli(z1, "enable", "lb-b")
        assert listed(z1)["lb-b"]["enabled"] is True

        agents_cli(z1, "remove", "lb-a")
        assert set(listed(z1)) == {"lb-b"}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_bad_reports_are_refused_with_the_reason_and_change_nothing(tree: TreeRunner) -> None:
    z2 = tree.addresses["z2"]

    async def run() -> None:
        client = AgentsClient(z2)
        try:
            good = AgentReport("vpn-1", "host-1", "vpn", ("strongswan",))
            assert (await client.report(good))[0] is Heard.NEW
            before = [(a.report, a.enabled) for a, _ in await client.agents()]
            with pytest.raises(AlreadyExists, match="held by the agent on host host-1"):
                await client.report(AgentReport("vpn-1", "host-2", "vpn", ("strongswan",)))
            with pytest.raises(InvalidArgument, match="bad kind"):
                await client.report(AgentReport("vpn-2", "host-2", "VPN!"))
            with pytest.raises(InvalidArgument, match="load must be"):
                await client.report(AgentReport("vpn-2", "host-2", "vpn", load=-5))
            with pytest.raises(NotFound, match="no agent 'nobody'"):
                await client.remove("nobody")
            assert [(a.report, a.enabled) for a, _ in await client.agents()] == before
        finally:
            await client.close()

    asyncio.run(run())


def test_a_restarted_leaf_still_knows_its_agents(tree: TreeRunner, tmp_path: Path) -> None:
    z2 = tree.addresses["z2"]
    proc = agent_process(z2, tmp_path / "d", "lb-d", "haproxy")
    try:
        assert eventually(lambda: "lb-d" in listed(z2), timeout=20)
    finally:
        proc.kill()
        proc.wait()
    tree.restart_cell("z2")

    def known_again() -> bool:
        try:
            return listed(z2)["lb-d"]["capabilities"] == ["haproxy"]
        except AssertionError:  # the new process is not listening yet
            return False

    assert eventually(known_again, timeout=30)
