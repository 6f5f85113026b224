"""What was done to an instance: its action log, as Nova's instance actions.

A leaf keeps the log with the instance (cells.instance_actions), and for a
while after the instance is deleted; a router finds it like the instance
(routing.history). Each action has at most one event (the leaf's step that
reached the hypervisor), so the event's times and result are the action's.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.compute import Action

SUCCESS = "Success"
ERROR = "Error"

# Nova's names of the actions the tree takes (nova.compute.instance_actions).
CREATE = "create"
REBUILD = "rebuild"
LOCK = "lock"
UNLOCK = "unlock"
RESET_STATE = "resetState"

# The event Nova's compute manager records for each action that reaches a
# hypervisor; an action missing here (lock, unlock, resetState) has none.
EVENTS = {
    CREATE: "compute__do_build_and_run_instance",
    "pause": "compute_pause_instance",
    "unpause": "compute_unpause_instance",
    "suspend": "compute_suspend_instance",
    "resume": "compute_resume_instance",
    "reboot": "compute_reboot_instance",
    "stop": "compute_stop_instance",
    "start": "compute_start_instance",
    "delete": "compute_terminate_instance",
    REBUILD: "compute_rebuild_instance",
    "shelve": "compute_shelve_instance",
    "shelveOffload": "compute_shelve_offload_instance",
    "unshelve": "compute_unshelve_instance",
}
# A tree action whose value is not Nova's name of it.
_NOVA_NAMES = {"reboot_hard": "reboot", "shelve_offload": "shelveOffload"}


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action, and its event when it has one (`event` empty: none)."""

    action: str
    request_id: str
    project: str
    user: str = ""  # empty: the call did not say who (the project acted)
    start_time: float = 0.0  # seconds since the epoch
    finish_time: float = 0.0  # 0: under way
    event: str = ""
    result: str = ""  # SUCCESS or ERROR; empty while under way
    message: str = ""  # why it failed
    host: str = ""


@dataclass(frozen=True, slots=True)
class ActionLog:
    """An instance's actions, newest first."""

    uuid: str
    project: str
    deleted: bool = False
    actions: tuple[ActionRecord, ...] = ()


def action_name(action: Action) -> str:
    """Nova's name of a tree action: a hard reboot is a reboot."""
    return _NOVA_NAMES.get(action.value, action.value)


def edit_action(locked: bool | None, reset_to_error: bool | None) -> str:
    """Nova's name of an edit that is an action (lock, unlock, resetState); "" for none."""
    if reset_to_error is not None:
        return RESET_STATE
    if locked is not None:
        return LOCK if locked else UNLOCK
    return ""
