"""Tests for the standard filters beyond resources: one table per filter, and a
contract test over every filter registered in the cellrouter.filters group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bestmatch.api import (
    AFFINITY,
    AGGREGATE,
    ANTI_AFFINITY,
    AVAILABILITY_ZONE,
    CAPABILITY,
    DIFFERENT_HOST,
    MAX_INSTANCES,
    PROJECT_CELL,
    SAME_HOST,
    Filter,
    HostState,
    RequestSpec,
    Verdict,
)
from bestmatch.filters.affinity import AffinityFilter, AntiAffinityFilter
from bestmatch.filters.aggregate import AggregateFilter
from bestmatch.filters.availability_zone import AvailabilityZoneFilter
from bestmatch.filters.capability import CapabilityFilter
from bestmatch.filters.host_hints import DifferentHostFilter, SameHostFilter
from bestmatch.filters.max_instances import MaxInstancesFilter
from bestmatch.filters.project_cell import ProjectCellFilter
from bestmatch.plugins import FILTERS, installed
from model.compute import Resources

PASS = ""  # expected reason of a passing verdict


def host(name: str = "h1", **fields: Any) -> HostState:
    """A roomy host in leaf top!eu!eu-a; keyword arguments override fields."""
    fields.setdefault("cell_path", "top!eu!eu-a")
    return HostState(name, total=Resources(8, 16384, 100), **fields)


def cell(path: str, **fields: Any) -> HostState:
    """A child cell as a router sees it: no zone, aggregates or instance uuids."""
    return HostState(path.rsplit("!", 1)[-1], cell_path=path,
                     total=Resources(64, 262144, 2000), **fields)


def ask(project: str = "", properties: Mapping[str, str] | None = None,
        **hints: str) -> RequestSpec:
    return RequestSpec(Resources(2, 4096, 20), project=project, hints=hints,
                       properties=properties or {})


def judge(filt: Filter, candidate: HostState, spec: RequestSpec, expected: str) -> None:
    verdict = filt.check(candidate, spec)
    assert verdict.passed is (expected == PASS), verdict
    assert verdict.reason == expected
    if not verdict.passed:
        assert verdict.reason == filt.name
        assert verdict.detail, "a rejection should say why"


@pytest.mark.parametrize(
    ("candidate", "spec", "expected"),
    [
        (host(availability_zone="az1"), ask(), PASS),
        (host(availability_zone="az1"), ask(availability_zone="az1"), PASS),
        (host(availability_zone="az1"), ask(availability_zone="az2"), AVAILABILITY_ZONE),
        (host(), ask(availability_zone="az2"), PASS),
        (cell("top!eu"), ask(availability_zone="az2"), PASS),
    ],
    ids=["no-hint", "same-zone", "other-zone", "host-without-zone", "cell-spans-zones"],
)
def test_availability_zone(candidate: HostState, spec: RequestSpec, expected: str) -> None:
    judge(AvailabilityZoneFilter(), candidate, spec, expected)


@pytest.mark.parametrize(
    ("offers", "needs", "expected"),
    [
        ((), (), PASS),
        (("gpu", "sriov"), ("gpu",), PASS),
        (("gpu",), ("gpu", "sriov"), CAPABILITY),
        ((), ("gpu",), CAPABILITY),
    ],
    ids=["needs-nothing", "offers-more", "lacks-one", "offers-none"],
)
def test_capability(offers: tuple[str, ...], needs: tuple[str, ...], expected: str) -> None:
    spec = RequestSpec(Resources(2, 4096, 20), needs=frozenset(needs))
    judge(CapabilityFilter(), host(capabilities=frozenset(offers)), spec, expected)


def test_capability_detail_names_what_is_missing() -> None:
    verdict = CapabilityFilter().check(host(capabilities=frozenset({"gpu"})), RequestSpec(
        Resources(), needs=frozenset({"gpu", "sriov", "nvme"})))
    assert verdict.detail == "lacks nvme, sriov"


def test_availability_zone_detail() -> None:
    verdict = AvailabilityZoneFilter().check(host(availability_zone="az1"),
                                             ask(availability_zone="az2"))
    assert verdict.detail == "in zone az1, zone az2 asked"


SSD = {"disk": "ssd", "cpu": "epyc"}


@pytest.mark.parametrize(
    ("candidate", "spec", "expected"),
    [
        (host(), ask(), PASS),
        (host(aggregates=SSD), ask(), PASS),
        (host(aggregates=SSD), ask(properties={"disk": "ssd"}), PASS),
        (host(aggregates=SSD), ask(properties=SSD), PASS),
        (host(aggregates=SSD), ask(properties={"disk": "hdd"}), AGGREGATE),
        (host(aggregates=SSD), ask(properties={"disk": "ssd", "gpu": "a100"}), AGGREGATE),
        (host(), ask(properties={"disk": "ssd"}), AGGREGATE),
        (host(aggregates={"aggregate:disk": "ssd"}), ask(properties={"disk": "ssd"}),
         AGGREGATE),
    ],
    ids=["no-properties", "no-properties-with-metadata", "one-matches", "all-match",
         "value-differs", "one-key-missing", "no-metadata", "keys-compared-exactly"],
)
def test_aggregate(candidate: HostState, spec: RequestSpec, expected: str) -> None:
    judge(AggregateFilter(), candidate, spec, expected)


@pytest.mark.parametrize(
    ("properties", "detail"),
    [({"disk": "hdd"}, "disk=ssd, disk=hdd asked"), ({"gpu": "a100"}, "no gpu, gpu=a100 asked")],
    ids=["differs", "missing"],
)
def test_aggregate_detail(properties: dict[str, str], detail: str) -> None:
    assert AggregateFilter().check(host(aggregates=SSD), ask(properties=properties)).detail == (
        detail
    )


WEB = {"web": 1}


@pytest.mark.parametrize(
    ("candidate", "spec", "expected"),
    [
        (host(), ask(), PASS),
        (host(), ask(group="web", group_members="2"), PASS),  # no policy
        (host(), ask(group="web", group_policy="anti-affinity", group_members="2"), PASS),
        (host(groups=WEB), ask(group="web", group_policy="affinity", group_members="2"), PASS),
        (host(), ask(group="web", group_policy="affinity"), PASS),
        (host(), ask(group="web", group_policy="affinity", group_members="0"), PASS),
        (host(), ask(group="web", group_policy="affinity", group_members="2"), AFFINITY),
        (host(groups={"db": 3}), ask(group="web", group_policy="affinity", group_members="3"),
         AFFINITY),
        (host(groups={"web": 0}), ask(group="web", group_policy="affinity", group_members="1"),
         AFFINITY),
        (host(), ask(group="web", group_policy="affinity", group_members="many"), AFFINITY),
    ],
    ids=["no-hints", "no-policy", "other-policy", "holds-members", "first-member-absent",
         "first-member-zero", "members-elsewhere", "other-group-here", "zero-count-here",
         "unparsable-count-is-strict"],
)
def test_affinity(candidate: HostState, spec: RequestSpec, expected: str) -> None:
    judge(AffinityFilter(), candidate, spec, expected)


@pytest.mark.parametrize(
    ("candidate", "spec", "max_per_host", "expected"),
    [
        (host(groups=WEB), ask(), 1, PASS),
        (host(groups=WEB), ask(group="web"), 1, PASS),  # no policy
        (host(groups=WEB), ask(group="web", group_policy="affinity"), 1, PASS),
        (host(), ask(group="web", group_policy="anti-affinity"), 1, PASS),
        (host(groups={"db": 4}), ask(group="web", group_policy="anti-affinity"), 1, PASS),
        (host(groups=WEB), ask(group="web", group_policy="anti-affinity"), 1, ANTI_AFFINITY),
        (host(groups=WEB), ask(group="web", group_policy="anti-affinity"), 2, PASS),
        (host(groups={"web": 2}), ask(group="web", group_policy="anti-affinity"), 2,
         ANTI_AFFINITY),
        # The group's own rule (group_max_per_host) wins over the option.
        (host(groups=WEB), ask(group="web", group_policy="anti-affinity",
                               group_max_per_host="2"), 1, PASS),
        (host(groups={"web": 2}), ask(group="web", group_policy="anti-affinity",
                                      group_max_per_host="2"), 3, ANTI_AFFINITY),
        (host(groups=WEB), ask(group="web", group_policy="anti-affinity",
                               group_max_per_host="0"), 1, ANTI_AFFINITY),
        (host(groups=WEB), ask(group="web", group_policy="anti-affinity",
                               group_max_per_host="two"), 1, ANTI_AFFINITY),
        (host(groups=WEB), ask(group="web", group_policy="anti-affinity",
                               group_max_per_host="\u00b2"), 1, ANTI_AFFINITY),
    ],
    ids=["no-hints", "no-policy", "other-policy", "no-members", "other-group-here",
         "one-member-default-limit", "one-member-limit-two", "two-members-limit-two",
         "rule-two-over-option-one", "rule-two-over-option-three", "rule-zero-ignored",
         "rule-not-a-number-ignored", "rule-superscript-ignored"],
)
def test_anti_affinity(candidate: HostState, spec: RequestSpec, max_per_host: int,
                       expected: str) -> None:
    judge(AntiAffinityFilter(max_per_host=max_per_host), candidate, spec, expected)


HOLDS_A = frozenset({"uuid-a", "uuid-b"})


@pytest.mark.parametrize(
    ("candidate", "spec", "expected"),
    [
        (host(instance_uuids=HOLDS_A), ask(), PASS),
        (host(instance_uuids=HOLDS_A), ask(same_host="uuid-a"), PASS),
        (host(instance_uuids=HOLDS_A), ask(same_host="uuid-x, uuid-b"), PASS),
        (host(instance_uuids=HOLDS_A), ask(same_host="uuid-x"), SAME_HOST),
        (host(instance_uuids=frozenset()), ask(same_host="uuid-x"), SAME_HOST),  # as Nova's
        (cell("top!eu"), ask(same_host="uuid-a"), PASS),
        (host(instance_uuids=HOLDS_A), ask(same_host=" , "), PASS),
    ],
    ids=["no-hint", "holds-it", "holds-one-of-list", "holds-none", "empty-host",
         "cell-may-hold-below", "blank-hint"],
)
def test_same_host(candidate: HostState, spec: RequestSpec, expected: str) -> None:
    judge(SameHostFilter(), candidate, spec, expected)


@pytest.mark.parametrize(
    ("candidate", "spec", "expected"),
    [
        (host(instance_uuids=HOLDS_A), ask(), PASS),
        (host(instance_uuids=HOLDS_A), ask(different_host="uuid-x"), PASS),
        (host(instance_uuids=HOLDS_A), ask(different_host="uuid-a"), DIFFERENT_HOST),
        (host(instance_uuids=HOLDS_A), ask(different_host="uuid-x,uuid-b"), DIFFERENT_HOST),
        (host(), ask(different_host="uuid-a"), PASS),
        (cell("top!eu"), ask(different_host="uuid-a"), PASS),
    ],
    ids=["no-hint", "holds-none", "holds-it", "holds-one-of-list", "empty-host",
         "cell-decides-below"],
)
def test_different_host(candidate: HostState, spec: RequestSpec, expected: str) -> None:
    judge(DifferentHostFilter(), candidate, spec, expected)


def test_different_host_detail_names_the_instances() -> None:
    verdict = DifferentHostFilter().check(host(instance_uuids=HOLDS_A),
                                          ask(different_host="uuid-b,uuid-a,uuid-x"))
    assert verdict.detail == "holds uuid-a, uuid-b"


@pytest.mark.parametrize(
    ("instances", "options", "expected"),
    [
        (0, {}, PASS),
        (49, {}, PASS),
        (50, {}, MAX_INSTANCES),
        (51, {}, MAX_INSTANCES),
        (1, {"limit": 2}, PASS),
        (2, {"limit": 2}, MAX_INSTANCES),
    ],
    ids=["empty", "just-under-default", "at-default", "over-default", "under-limit",
         "at-limit"],
)
def test_max_instances(instances: int, options: dict[str, int], expected: str) -> None:
    judge(MaxInstancesFilter(**options), host(instances=instances), ask(), expected)


@pytest.mark.parametrize(
    ("factory", "options", "error"),
    [
        (MaxInstancesFilter, {"limit": 0}, ValueError),
        (MaxInstancesFilter, {"limit": "50"}, TypeError),
        (AntiAffinityFilter, {"max_per_host": 0}, ValueError),
        (ProjectCellFilter, {"policy": {"acme": "top!eu"}}, TypeError),
        (ProjectCellFilter, {"policy": {"acme": [""]}}, TypeError),
    ],
    ids=["limit-zero", "limit-string", "max-per-host-zero", "policy-not-a-list",
         "policy-empty-path"],
)
def test_bad_options_refused(factory: Any, options: dict[str, Any],
                             error: type[Exception]) -> None:
    with pytest.raises(error):
        factory(**options)


POLICY = {"acme": ["top!eu"], "bank": ["top!us!us-a", "top!eu!eu-b"], "jail": []}


@pytest.mark.parametrize(
    ("path", "project", "expected"),
    [
        ("top!eu!eu-a", "", PASS),
        ("top!us!us-a", "other", PASS),
        ("top!eu", "acme", PASS),
        ("top!eu!eu-a", "acme", PASS),
        ("top", "acme", PASS),
        ("top!us", "acme", PROJECT_CELL),
        ("top!europe", "acme", PROJECT_CELL),
        ("top!us!us-a", "bank", PASS),
        ("top!us", "bank", PASS),
        ("top!eu", "bank", PASS),
        ("top!eu!eu-a", "bank", PROJECT_CELL),
        ("top!us!us-b", "bank", PROJECT_CELL),
        ("top", "jail", PROJECT_CELL),
        ("", "acme", PROJECT_CELL),
    ],
    ids=["no-project", "project-not-in-policy", "the-allowed-cell", "inside-allowed",
         "router-above-allowed", "sibling", "name-prefix-is-not-path-prefix",
         "second-prefix", "above-first-prefix", "above-second-prefix", "sibling-of-allowed",
         "other-sibling", "empty-list-allows-nothing", "no-cell-path"],
)
def test_project_cell(path: str, project: str, expected: str) -> None:
    judge(ProjectCellFilter(policy=POLICY), cell(path) if path else host(cell_path=""),
          ask(project=project), expected)


def test_project_cell_hosts_of_a_leaf_pass_together() -> None:
    filt = ProjectCellFilter(policy=POLICY)
    hosts = [host(f"h{i}", cell_path="top!eu!eu-b") for i in range(3)]
    assert [filt.check(h, ask(project="bank")).passed for h in hosts] == [True] * 3
    assert [filt.check(h, ask(project="acme")).passed for h in hosts] == [True] * 3
    outside = host(cell_path="top!us!us-b")
    assert filt.check(outside, ask(project="acme")).detail == "project acme is kept to top!eu"


def test_project_cell_default_policy_allows_everyone() -> None:
    assert ProjectCellFilter().check(cell("top!us"), ask(project="acme")).passed


FILTER_NAMES = sorted(installed(FILTERS))


def test_every_standard_filter_is_registered() -> None:
    assert {"availability_zone", "aggregate", "affinity", "anti_affinity", "same_host",
            "different_host", "max_instances", "project_cell"} <= set(FILTER_NAMES)


@pytest.mark.parametrize("name", FILTER_NAMES, ids=FILTER_NAMES)
def test_registered_filter_contract(name: str) -> None:
    factory = installed(FILTERS)[name].load()
    assert factory.name == name
    filt = factory()
    assert filt.name == name
    verdict = filt.check(HostState("plain"), RequestSpec(Resources()))
    assert isinstance(verdict, Verdict)
    assert verdict.passed or verdict.reason, "a rejection names a reason"
