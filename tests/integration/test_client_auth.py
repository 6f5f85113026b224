"""No open client port by default (issue 22): a tree with tls = true asks its
clients for tokens, and one that says client_auth = "none" is open only with
a warning, in the top's log and in `cellrouter tree`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cellwire.client import CellClient
from model.errors import Unauthenticated
from tests.integration.conftest import PATIENCE, eventually, start_tree

TREE = """
[tree]
tls = true
{extra}
report_interval = 0.2
down_after = 3

[cells.top]
[cells.z1]
parent = "top"
driver = "fake"
hosts = [{{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }}]
"""


def test_a_tls_tree_refuses_a_client_with_the_ca_and_no_token(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, TREE.format(extra=""))
    try:
        assert runner.tokens_file is not None and runner.admin_token
        with CellClient(runner.client_address, timeout=10, ca=runner.ca) as anyone:
            with pytest.raises(Unauthenticated):
                anyone.list()
            with pytest.raises(Unauthenticated):
                anyone.topology()
        with runner.client() as admin:  # the runner's own admin token
            assert admin.topology().name == "top"
            assert admin.list().instances == ()
    finally:
        runner.stop()


def test_an_open_client_port_is_said_in_the_log_and_in_tree(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, TREE.format(extra='client_auth = "none"'))
    try:
        assert runner.tokens_file is None and runner.certs is not None
        log = runner.state_dir / "top" / "cell.log"
        assert eventually(lambda: "serves its client port" in log.read_text())
        warned = [line for line in log.read_text().splitlines()
                  if "serves its client port" in line]
        assert "WARNING" in warned[0] and runner.client_address in warned[0]
        tree = subprocess.run(
            [sys.executable, "-m", "cellops.cli", "--cell", runner.client_address,
             "--ca-file", str(runner.certs / "ca.pem"), "tree"],
            capture_output=True, text=True, timeout=PATIENCE, check=True)
        assert ('warning: cell top serves its client port to anyone, without tokens'
                ' (client_auth = "none")') in tree.stdout
        assert "cell z1 serves" not in tree.stdout
    finally:
        runner.stop()
