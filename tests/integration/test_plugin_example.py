"""The example selector plugin (examples/plugin-least-loaded), installed for real.

A module-scoped fixture pip-installs the example package into the running
venv (editable, no dependencies) and uninstalls it afterwards. Then:

  * it is listed in the `cellrouter.selectors` entry point group;
  * the selector it registers orders candidates as its docstring promises;
  * a leaf cell process configured with `selector = "least_loaded"` spreads
    six boots over its three hosts 2/2/2, in a fixed order - `random` would
    give no such guarantee, the plugin is what makes it deterministic;
  * a leaf naming a selector that is not installed refuses to start, and the
    error TreeRunner raises (with the cell's log) names that selector.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import site
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bestmatch.api import HostState, RequestSpec
from bestmatch.errors import BadPluginOptions
from bestmatch.pipeline import Sampling
from bestmatch.plugins import SELECTORS, SelectionConfig, build_selector, installed, load_selector
from cellwire.client import CellClient, boot_spec
from model.compute import Resources
from tests.integration.conftest import start_tree

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plugin-least-loaded"
DIST = "cellrouter-least-loaded"
MODULE = "least_loaded"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, check=False)


def _is_installed() -> bool:
    try:
        importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _activate_pth_files() -> None:
    """Process the .pth files the install added, as site does at start-up, so
    that this (already running) interpreter can import the editable module.
    Cell processes started afterwards need nothing: they process them anyway."""
    for file in importlib.metadata.distribution(DIST).files or ():
        if file.name.endswith(".pth"):
            located = Path(str(file.locate()))
            site.addpackage(str(located.parent), located.name, None)


@pytest.fixture(scope="module")
def plugin() -> Iterator[None]:
    """The example installed into this venv for the module's tests."""
    was_installed = _is_installed()
    saved_path, saved_meta_path = list(sys.path), list(sys.meta_path)
    # Without build isolation pip builds with the venv's own setuptools and
    # needs no index; with it, pip would fetch setuptools first.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    done = _pip("install", "--no-deps", *isolation, "-e", str(EXAMPLE))
    if done.returncode != 0 and isolation:
        done = _pip("install", "--no-deps", "-e", str(EXAMPLE))
    if done.returncode != 0:
        pytest.fail(f"pip could not install {EXAMPLE}:\n{done.stdout}\n{done.stderr}")
    importlib.invalidate_caches()  # drop importlib.metadata's cached view of site-packages
    try:
        _activate_pth_files()
        yield
    finally:
        undone = None
        if not was_installed:  # leave the venv as it was found
            undone = _pip("uninstall", "-y", DIST)
        sys.path[:] = saved_path
        sys.meta_path[:] = saved_meta_path
        sys.modules.pop(MODULE, None)
        importlib.invalidate_caches()
        if undone is not None and undone.returncode != 0:
            pytest.fail(f"pip could not uninstall {DIST}:\n{undone.stdout}\n{undone.stderr}")


def host(name: str, instances: int = 0, free_mb: int = 16384, alive: bool = True) -> HostState:
    total = Resources(16, 32768, 500)
    return HostState(name=name, total=total, used=Resources(instances, 32768 - free_mb, 0),
                     alive=alive, instances=instances)


CANDIDATES = [
    host("c", instances=1, free_mb=8192),
    host("a", free_mb=4096),
    host("d", free_mb=16384),
    host("down", free_mb=30000, alive=False),  # AliveFilter
    host("b", free_mb=16384),
    host("tiny", free_mb=256),  # RamFilter: 1024 MB asked
]
SPEC = RequestSpec(flavor=Resources(1, 1024, 10))
# Fewest instances, then most free memory, then name.
EXPECTED = ["b", "d", "a", "c"]


def names(hosts: Sequence[HostState]) -> list[str]:
    return [h.name for h in hosts]


def test_plugin_is_listed_once_installed(plugin: None) -> None:
    selectors = installed(SELECTORS)
    assert "least_loaded" in selectors
    assert selectors["least_loaded"].value == "least_loaded:LeastLoadedSelector"
    assert {"random", "filter_weigher"} <= set(selectors)  # cellrouter's own still there


def test_least_loaded_first_then_most_free_memory_then_name(plugin: None) -> None:
    selector = load_selector("least_loaded")
    assert selector.name == "least_loaded"
    selection = selector.select(CANDIDATES, SPEC)
    assert names(selection.ordered) == EXPECTED
    assert selection.considered == len(CANDIDATES)
    assert selection.total == len(CANDIDATES)
    assert dict(selection.rejected) == {"alive": 1, "ram": 1}
    # The same state gives the same answer, every time.
    assert all(names(selector.select(CANDIDATES, SPEC).ordered) == EXPECTED for _ in range(20))


def test_configured_filters_replace_the_defaults(plugin: None) -> None:
    selector = build_selector(SelectionConfig(selector="least_loaded", filters=("ram",)))
    selection = selector.select(CANDIDATES, SPEC)
    # Only RAM is checked: the host that is down now passes (and has the most free memory).
    assert names(selection.ordered) == ["down", "b", "d", "a", "c"]
    assert dict(selection.rejected) == {"ram": 1}


def test_sampling_stops_early_and_weighers_are_ignored(plugin: None) -> None:
    factory = installed(SELECTORS)["least_loaded"].load()

    class Favourite:
        name = "favourite"

        def scores(self, candidates: Sequence[HostState], spec: RequestSpec) -> list[float]:
            return [1.0 if c.name == "c" else 0.0 for c in candidates]

    weighed = factory(filters=None, sampling=None, weighers=[(Favourite(), 100.0)])
    assert names(weighed.select(CANDIDATES, SPEC).ordered) == EXPECTED

    sampled = factory(filters=None, sampling=Sampling(minimum=2, fraction=0.01))
    for _ in range(20):
        selection = sampled.select(CANDIDATES, SPEC)
        assert len(selection.ordered) == 2
        assert selection.total == len(CANDIDATES)
        assert selection.considered < len(CANDIDATES)  # stopped once 2 passed
        chosen = names(selection.ordered)
        assert chosen == [n for n in EXPECTED if n in chosen]  # still least loaded first


def test_unknown_options_are_refused(plugin: None) -> None:
    with pytest.raises(BadPluginOptions, match="least_loaded"):
        build_selector(SelectionConfig(selector="least_loaded",
                                       selector_options={"subset_size": 2}))


LEAST_LOADED_TREE = """
[tree]
insecure = true
report_interval = 0.2
down_after = 3

[cells.top]

[cells.z1]
parent = "top"
driver = "fake"
selector = "least_loaded"
hosts = [
  { name = "small", vcpus = 8, memory_mb = 8192, disk_gb = 100 },
  { name = "big", vcpus = 16, memory_mb = 32768, disk_gb = 200 },
  { name = "mid", vcpus = 8, memory_mb = 16384, disk_gb = 100 },
]
"""


def test_a_leaf_cell_spreads_boots_evenly_with_the_plugin(plugin: None, tmp_path: Path) -> None:
    runner = start_tree(tmp_path, LEAST_LOADED_TREE)
    try:
        with CellClient(runner.top_address, timeout=10) as top:
            placed = [top.boot(boot_spec(f"vm{i}", 1, 512, 1)).host for i in range(6)]
    finally:
        runner.stop()
    assert Counter(placed) == {"big": 2, "mid": 2, "small": 2}
    # Each boot goes to a host with the fewest instances, the one with the
    # most free memory among those: the same order on every run.
    assert placed == ["big", "mid", "small", "big", "mid", "small"]


MISSING_SELECTOR_TREE = """
[tree]
insecure = true
report_interval = 0.2

[cells.top]

[cells.z1]
parent = "top"
driver = "fake"
selector = "no_such_selector"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
"""


def test_a_leaf_naming_a_missing_selector_fails_to_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as failed:
        start_tree(tmp_path, MISSING_SELECTOR_TREE)
    message = str(failed.value)
    assert message.startswith("cell z1 exited")
    assert "no_such_selector" in message
    log = (tmp_path / "state" / "z1" / "cell.log").read_text()
    assert "no_such_selector" in log
