"""Errors raised by virt drivers.

    VirtError
    ├── InstanceNotFound      no instance with that uuid on this driver
    ├── InvalidSpec           the boot request cannot be built as given
    ├── NoCapacity            the chosen host cannot hold the instance
    ├── HypervisorUnavailable the hypervisor could not be reached
    └── DriverMisconfigured   the driver's settings are wrong (e.g. refused credentials)

Each driver translates its library's errors into this tree in one place.
An action that is not legal in the instance's current state is
`IllegalTransition`, from the shared vocabulary (`model.errors`): the state
machine is written once, in `model.states`, and every driver raises its error.
"""

from __future__ import annotations

from model.errors import IllegalTransition

__all__ = [
    "DRIVER_ERRORS",
    "DriverMisconfigured",
    "HypervisorUnavailable",
    "IllegalTransition",
    "InstanceNotFound",
    "InvalidSpec",
    "NoCapacity",
    "VirtError",
]


class VirtError(Exception):
    """Base of every driver error."""


class InstanceNotFound(VirtError):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"instance {uuid} not found")
        self.uuid = uuid


class InvalidSpec(VirtError):
    pass


class NoCapacity(VirtError):
    pass


class HypervisorUnavailable(VirtError):
    pass


class DriverMisconfigured(VirtError):
    pass


# Every error a driver raises: its own tree, and the state machine's refusal.
DRIVER_ERRORS: tuple[type[Exception], ...] = (VirtError, IllegalTransition)
