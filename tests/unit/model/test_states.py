"""Tests for model.states: the instance state machine."""

from __future__ import annotations

import pytest

from model.compute import Action, InstanceState
from model.states import TRANSITIONS, allowed_actions, next_state

S = InstanceState
A = Action

# The table in the module docstring, written out independently of TRANSITIONS.
LEGAL = [
    (S.ACTIVE, A.PAUSE, S.PAUSED),
    (S.PAUSED, A.UNPAUSE, S.ACTIVE),
    (S.ACTIVE, A.SUSPEND, S.SUSPENDED),
    (S.SUSPENDED, A.RESUME, S.ACTIVE),
    (S.ACTIVE, A.STOP, S.STOPPED),
    (S.STOPPED, A.START, S.ACTIVE),
    (S.ACTIVE, A.REBOOT, S.ACTIVE),
    (S.ACTIVE, A.REBOOT_HARD, S.ACTIVE),
    (S.ACTIVE, A.SHELVE, S.SHELVED),
    (S.STOPPED, A.SHELVE, S.SHELVED),
    (S.PAUSED, A.SHELVE, S.SHELVED),
    (S.SUSPENDED, A.SHELVE, S.SHELVED),
    (S.SHELVED, A.SHELVE_OFFLOAD, S.SHELVED_OFFLOADED),
    (S.SHELVED, A.UNSHELVE, S.ACTIVE),
    (S.SHELVED_OFFLOADED, A.UNSHELVE, S.ACTIVE),
]


def _id(case: tuple[InstanceState, Action, object]) -> str:
    return f"{case[1].value}-{case[0].value}"


@pytest.mark.parametrize(("state", "action", "after"), LEGAL, ids=[_id(c) for c in LEGAL])
def test_legal_transitions(state: InstanceState, action: Action, after: InstanceState) -> None:
    assert next_state(state, action) is after
    assert action in allowed_actions(state)


def test_transition_table_is_exactly_the_documented_one() -> None:
    assert {(s, a): t for s, a, t in LEGAL} == TRANSITIONS


ILLEGAL = [
    (S.PAUSED, A.PAUSE),
    (S.ACTIVE, A.UNPAUSE),
    (S.STOPPED, A.RESUME),
    (S.ACTIVE, A.START),
    (S.PAUSED, A.REBOOT),
    (S.PAUSED, A.REBOOT_HARD),
    (S.PAUSED, A.STOP),
    (S.PAUSED, A.SUSPEND),
    (S.SUSPENDED, A.UNPAUSE),
    (S.SUSPENDED, A.START),
    (S.STOPPED, A.STOP),
    (S.STOPPED, A.REBOOT),
    (S.ACTIVE, A.RESUME),
    (S.BUILDING, A.PAUSE),
    (S.ERROR, A.START),
    (S.UNKNOWN, A.REBOOT),
    (S.DELETED, A.START),
    (S.SHELVED, A.SHELVE),
    (S.SHELVED, A.START),
    (S.SHELVED_OFFLOADED, A.SHELVE_OFFLOAD),
    (S.SHELVED_OFFLOADED, A.START),
    (S.ACTIVE, A.SHELVE_OFFLOAD),
    (S.ACTIVE, A.UNSHELVE),
    (S.STOPPED, A.UNSHELVE),
    (S.BUILDING, A.SHELVE),
    (S.ERROR, A.SHELVE),
]


@pytest.mark.parametrize(
    ("state", "action"), ILLEGAL, ids=[_id((s, a, None)) for s, a in ILLEGAL]
)
def test_illegal_transitions(state: InstanceState, action: Action) -> None:
    assert next_state(state, action) is None
    assert action not in allowed_actions(state)


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_delete_from_every_state(state: InstanceState) -> None:
    assert next_state(state, A.DELETE) is S.DELETED


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_allowed_actions_always_contains_delete_once(state: InstanceState) -> None:
    actions = allowed_actions(state)
    assert actions.count(A.DELETE) == 1
    assert actions[-1] is A.DELETE


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_allowed_actions_agree_with_next_state(state: InstanceState) -> None:
    allowed = set(allowed_actions(state))
    legal = {a for a in A if next_state(state, a) is not None}
    assert allowed == legal


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (S.ACTIVE, {A.PAUSE, A.SUSPEND, A.STOP, A.REBOOT, A.REBOOT_HARD, A.SHELVE,
                    A.DELETE}),
        (S.PAUSED, {A.UNPAUSE, A.SHELVE, A.DELETE}),
        (S.SUSPENDED, {A.RESUME, A.SHELVE, A.DELETE}),
        (S.STOPPED, {A.START, A.SHELVE, A.DELETE}),
        (S.SHELVED, {A.SHELVE_OFFLOAD, A.UNSHELVE, A.DELETE}),
        (S.SHELVED_OFFLOADED, {A.UNSHELVE, A.DELETE}),
        (S.BUILDING, {A.DELETE}),
        (S.ERROR, {A.DELETE}),
        (S.DELETED, {A.DELETE}),
    ],
    ids=["active", "paused", "suspended", "stopped", "shelved", "shelved-offloaded",
         "building", "error", "deleted"],
)
def test_allowed_actions_per_state(state: InstanceState, expected: set[Action]) -> None:
    assert set(allowed_actions(state)) == expected
