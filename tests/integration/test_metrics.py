"""Prometheus metrics of cell processes, scraped over HTTP and parsed as Prometheus would."""

from __future__ import annotations

import urllib.request
import uuid as uuidlib
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cellwire.client import CellClient, boot_spec
from model.errors import NotFound
from tests.integration.conftest import HEAD, eventually, start_tree

TREE = HEAD.replace("[cells.top]", '[cells.top]\nmetrics_listen = "127.0.0.1:0"') + """
[cells.z1]
parent = "r1"
driver = "fake"
metrics_listen = "127.0.0.1:0"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
"""


def scrape(state: Path, cell: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    address = (state / cell / "metrics-address").read_text().strip()
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_cells_count_requests_by_code_and_report_their_state(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, TREE)
    try:
        with CellClient(runner.top_address) as top:
            vm = top.boot(boot_spec("measured", 2, 1024))
            top.pause(vm.uuid, wait=True)
            with pytest.raises(NotFound):
                top.get(str(uuidlib.uuid4()))
        state = runner.state_dir
        at_top = scrape(state, "top")
        replica = (("cell", "top"), ("replica", runner.addresses["top"]))
        assert at_top[("cellrouter_process", replica)] == 1
        assert at_top[("cellrouter_requests_total", (("code", "OK"), ("method", "Boot")))] == 1
        assert at_top[("cellrouter_requests_total",
                       (("code", "NOT_FOUND"), ("method", "Get")))] == 1
        assert at_top[("cellrouter_request_seconds_count", (("method", "Pause"),))] == 1
        assert at_top[("cellrouter_children", (("status", "up"),))] == 1
        assert at_top[("cellrouter_children", (("status", "down"),))] == 0
        assert at_top[("cellrouter_index_rows", ())] == 1
        assert at_top[("cellrouter_index_cache_hits_total", ())] >= 1  # the pause found it
        assert 0 < at_top[("cellrouter_index_cache_hit_ratio", ())] <= 1
        assert at_top[("cellrouter_capacity_total", (("resource", "vcpus"),))] == 8
        assert eventually(lambda: scrape(state, "top")[
            ("cellrouter_capacity_used", (("resource", "vcpus"),))] == 2)
        at_leaf = scrape(state, "z1")
        assert at_leaf[("cellrouter_requests_total", (("code", "OK"), ("method", "Boot")))] == 1
        assert at_leaf[("cellrouter_instances", ())] == 1
    finally:
        runner.stop()
