"""Building selectors from configuration through entry points."""

from __future__ import annotations

import pytest

from bestmatch.api import HostState, RequestSpec
from bestmatch.errors import BadPluginOptions, DuplicatePlugin, PluginNotFound
from bestmatch.pipeline import Sampling
from bestmatch.plugins import FILTERS, GROUPS, SelectionConfig, build_selector, installed
from bestmatch.selectors import FilterWeigherSelector, RandomSelector
from cells.config import from_mapping
from model.compute import Resources
from model.config import ConfigError


def hosts() -> list[HostState]:
    return [HostState(f"h{n}", total=Resources(8, 8192, 100), instances=n) for n in range(5)]


def test_every_group_has_its_standard_plugins() -> None:
    assert {"random", "filter_weigher"} <= set(installed(GROUPS[0]))
    assert {"alive", "ram", "vcpu", "disk"} <= set(installed(FILTERS))


def test_default_is_random_with_default_filters() -> None:
    selector = build_selector(SelectionConfig())
    assert isinstance(selector, RandomSelector)
    big = RequestSpec(Resources(16, 1024))
    assert build_selector(SelectionConfig()).select(hosts(), big).explain("hosts") == (
        "vcpu: 5 of 5 hosts"
    )


def test_configured_filters_run_in_the_order_given() -> None:
    selector = build_selector(SelectionConfig(filters=("vcpu", "ram")))
    too_big = RequestSpec(Resources(16, 100_000))
    assert dict(selector.select(hosts(), too_big).rejected) == {"vcpu": 5}
    selector = build_selector(SelectionConfig(filters=("ram", "vcpu")))
    assert dict(selector.select(hosts(), too_big).rejected) == {"ram": 5}


def test_filter_weigher_with_options_and_sampling() -> None:
    config = SelectionConfig(
        selector="filter_weigher",
        filters=("alive", "max_instances"),
        options={"max_instances": {"limit": 3}},
        sampling=Sampling(minimum=2, fraction=0.01),
        selector_options={"subset_size": 1},
    )
    selector = build_selector(config)
    assert isinstance(selector, FilterWeigherSelector)
    chosen = selector.select(hosts(), RequestSpec(Resources(1, 1)))
    assert len(chosen.ordered) == 2  # sampling stopped at two feasible hosts
    assert {h.instances for h in chosen.ordered} <= {0, 1, 2}


@pytest.mark.parametrize(
    ("config", "error", "words"),
    [
        (SelectionConfig(selector="nope"), PluginNotFound,
         "no cellrouter.selectors plugin named 'nope'"),
        (SelectionConfig(filters=("ram", "gpu")), PluginNotFound, "installed: "),
        (SelectionConfig(filters=("ram", "ram")), DuplicatePlugin,
         "filter 'ram' is configured twice"),
        (SelectionConfig(filters=("max_instances",), options={"max_instances": {"bogus": 1}}),
         BadPluginOptions, "max_instances"),
        (SelectionConfig(selector_options={"subset_size": 2}), BadPluginOptions, "random"),
    ],
    ids=["unknown-selector", "unknown-filter", "filter-twice", "bad-filter-option",
         "bad-selector-option"],
)
def test_bad_selection_config_is_a_clear_error(
    config: SelectionConfig, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        build_selector(config)


def test_selection_table_in_a_cell_config() -> None:
    config = from_mapping({
        "cell": {"name": "top", "listen": "127.0.0.1:0", "insecure": True},
        "selection": {
            "selector": "filter_weigher",
            "filters": ["alive", "ram"],
            "weighers": [{"name": "ram", "multiplier": -2}],
            "subset_size": 3,
            "sample_minimum": 50,
            "sample_fraction": 0.1,
            "options": {"max_instances": {"limit": 9}},
        },
    })
    sel = config.selection
    assert sel.selector == "filter_weigher"
    assert sel.filters == ("alive", "ram")
    assert sel.weighers == (("ram", -2.0),)
    assert sel.sampling == Sampling(50, 0.1, 500)
    assert sel.selector_options == {"subset_size": 3}
    assert sel.options == {"max_instances": {"limit": 9}}


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"filters": "ram"}, "filters must be a list"),
        ({"weighers": [{"multiplier": 1}]}, "each weigher"),
        ({"weighers": [{"name": "ram", "multiplier": "x"}]}, "multiplier must be a number"),
        ({"sample_fraction": 2.0}, "at most 1"),
        ({"subset_size": 0}, "subset_size"),
        ({"options": {"ram": 3}}, "options must be tables"),
        ({"colour": "red"}, "unknown keys colour"),
    ],
    ids=["filters-not-list", "weigher-no-name", "weigher-bad-multiplier", "fraction-over-1",
         "subset-zero", "options-not-tables", "unknown-key"],
)
def test_bad_selection_table(table: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_mapping({"cell": {"name": "top", "listen": "127.0.0.1:0", "insecure": True},
                      "selection": table})
