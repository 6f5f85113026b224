"""The command line against a running tree, and a cell embedded in a program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cellops.tree import TreeRunner
from cells.config import from_mapping
from cells.embed import EmbeddedCell
from cellwire.client import CellClient, boot_spec
from model.compute import InstanceState


def cli(tree: TreeRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cellops.cli", *args[:1], "--cell", tree.top_address, *args[1:]],
        capture_output=True, text=True, timeout=60,
    )


def test_cli_boot_pause_show_list_locate_tree(tree: TreeRunner) -> None:
    done = cli(tree, "boot", "cli-vm", "--vcpus", "1", "--memory-mb", "256",
               "--port", "net0,52:54:00:aa:bb:cc,10.1.0.9", "--hint", "k=v", "--json")
    assert done.returncode == 0, done.stderr
    uuid = json.loads(done.stdout)["uuid"]

    paused = cli(tree, "pause", uuid, "--wait", "--json")
    assert json.loads(paused.stdout)["state"] == "PAUSED"
    shown = json.loads(cli(tree, "show", uuid, "--json").stdout)
    assert shown["ports"] == [{"network": "net0", "mac": "52:54:00:aa:bb:cc", "ip": "10.1.0.9",
                               "port_id": ""}]  # no port of the network service
    listed = cli(tree, "list", "--state", "paused", "--json")
    assert uuid in [i["uuid"] for i in json.loads(listed.stdout)["instances"]]
    located = cli(tree, "locate", uuid)
    assert located.stdout.split()[1] == f"{shown['cell_path']}@{shown['host']}"
    table = cli(tree, "tree").stdout
    assert "top!r1!z1" in table and "up" in table
    assert cli(tree, "delete", uuid, "--wait").returncode == 0


def test_client_options_may_come_before_the_verb(tree: TreeRunner) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cellops.cli", "--cell", tree.top_address, "--json", "tree"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["path"] == "top"


def test_cli_failure_exits_nonzero_with_the_status_name(tree: TreeRunner) -> None:
    bad = cli(tree, "pause", "nope")
    assert bad.returncode == 1
    assert "INVALID_ARGUMENT" in bad.stderr
    missing = cli(tree, "show", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1
    assert "NOT_FOUND" in missing.stderr


def test_cli_unreachable_cell_says_unavailable() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cellops.cli", "tree", "--cell", "127.0.0.1:9", "--timeout", "2"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "UNAVAILABLE" in done.stderr


def test_embedded_leaf_serves_from_a_program(tmp_path: Path) -> None:
    config = from_mapping({
        "cell": {"name": "solo", "listen": "127.0.0.1:0", "state_dir": str(tmp_path),
                 "insecure": True},
        "leaf": {"driver": "fake",
                 "hosts": [{"name": "h", "vcpus": 2, "memory_mb": 1024}]},
    })
    with EmbeddedCell(config) as cell, CellClient(cell.address) as client:
        instance = client.boot(boot_spec("inside", 1, 512))
        assert instance.cell_path == "solo"
        assert client.suspend(instance.uuid, wait=True).state is InstanceState.SUSPENDED
    # The fake hypervisor's state outlives the cell, as a real one would.
    with EmbeddedCell(config) as cell, CellClient(cell.address) as client:
        assert client.get(instance.uuid).state is InstanceState.SUSPENDED


def test_cli_pages_through_a_list(tree: TreeRunner) -> None:
    made = [json.loads(cli(tree, "boot", f"pg-{n}", "--vcpus", "1", "--memory-mb", "64",
                           "--json").stdout)["uuid"] for n in range(3)]
    first = json.loads(cli(tree, "list", "--name-prefix", "pg-", "--limit", "2", "--json").stdout)
    assert len(first["instances"]) == 2 and first["next_page_token"]
    table = cli(tree, "list", "--name-prefix", "pg-", "--limit", "2").stdout
    assert f"more: --page-token {first['next_page_token']}" in table
    rest = json.loads(cli(tree, "list", "--name-prefix", "pg-", "--limit", "2",
                          "--page-token", first["next_page_token"], "--json").stdout)
    assert [i["name"] for i in first["instances"] + rest["instances"]] == ["pg-0", "pg-1", "pg-2"]
    assert rest["next_page_token"] == ""
    for uuid in made:
        assert cli(tree, "delete", uuid, "--wait").returncode == 0
