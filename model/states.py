"""The instance state machine every driver honours.

    ACTIVE --pause--> PAUSED --unpause--> ACTIVE
    ACTIVE --suspend--> SUSPENDED --resume--> ACTIVE
    ACTIVE --stop--> STOPPED --start--> ACTIVE
    ACTIVE --reboot / reboot_hard--> ACTIVE
    ACTIVE, STOPPED, PAUSED, SUSPENDED --shelve--> SHELVED
    SHELVED --shelve_offload--> SHELVED_OFFLOADED
    SHELVED, SHELVED_OFFLOADED --unshelve--> ACTIVE
    any state --delete--> DELETED

Anything else is an illegal transition: it is refused and nothing changes.
`check` is the one place the rule is applied; the leaf calls it before it
accepts an action it will apply later, and each driver calls it against the
state its hypervisor reports.
"""

from __future__ import annotations

from collections.abc import Collection

from model.compute import Action, InstanceState
from model.errors import IllegalTransition

_S = InstanceState
_A = Action

TRANSITIONS: dict[tuple[InstanceState, Action], InstanceState] = {
    (_S.ACTIVE, _A.PAUSE): _S.PAUSED,
    (_S.PAUSED, _A.UNPAUSE): _S.ACTIVE,
    (_S.ACTIVE, _A.SUSPEND): _S.SUSPENDED,
    (_S.SUSPENDED, _A.RESUME): _S.ACTIVE,
    (_S.ACTIVE, _A.STOP): _S.STOPPED,
    (_S.STOPPED, _A.START): _S.ACTIVE,
    (_S.ACTIVE, _A.REBOOT): _S.ACTIVE,
    (_S.ACTIVE, _A.REBOOT_HARD): _S.ACTIVE,
    (_S.ACTIVE, _A.SHELVE): _S.SHELVED,
    (_S.STOPPED, _A.SHELVE): _S.SHELVED,
    (_S.PAUSED, _A.SHELVE): _S.SHELVED,
    (_S.SUSPENDED, _A.SHELVE): _S.SHELVED,
    (_S.SHELVED, _A.SHELVE_OFFLOAD): _S.SHELVED_OFFLOADED,
    (_S.SHELVED, _A.UNSHELVE): _S.ACTIVE,
    (_S.SHELVED_OFFLOADED, _A.UNSHELVE): _S.ACTIVE,
}

# The actions a driver applies through its Shelver ability (virt.driver), not `act`.
SHELVING = frozenset({_A.SHELVE, _A.SHELVE_OFFLOAD, _A.UNSHELVE})


def next_state(current: InstanceState, action: Action) -> InstanceState | None:
    """The state `action` leads to from `current`, or None when illegal."""
    if action is Action.DELETE:
        return InstanceState.DELETED
    return TRANSITIONS.get((current, action))


def allowed_actions(current: InstanceState) -> list[Action]:
    """Actions legal from `current`, for error messages."""
    legal = [a for (s, a) in TRANSITIONS if s is current]
    return [*legal, Action.DELETE]


def check(
    uuid: str, current: InstanceState, action: Action,
    supported: Collection[Action] | None = None,
) -> InstanceState:
    """The state `action` leads to from `current`; IllegalTransition, naming
    the actions that are allowed (of those `supported`, when given), when it
    is not legal."""
    target = next_state(current, action)
    if target is None:
        allowed = [a.value for a in allowed_actions(current)
                   if supported is None or a in supported]
        raise IllegalTransition(uuid, current.value, action.value, allowed)
    return target


def shows_applied(state: InstanceState | None, action: Action) -> bool:
    """Whether an instance now in `state` (None: the hypervisor no longer has
    it) shows that `action` was applied: it is in the state the action leads
    to. A reboot leads back to ACTIVE, so any ACTIVE instance counts as rebooted."""
    if action is Action.DELETE:
        return state is None or state is InstanceState.DELETED
    return state is not None and any(
        a is action and target is state for (_, a), target in TRANSITIONS.items())
