"""Errors raised by virt drivers.

    VirtError
    ├── InstanceNotFound      no instance with that uuid on this driver
    ├── IllegalTransition     the action is not legal in the current state
    ├── InvalidSpec           the boot request cannot be built as given
    ├── NoCapacity            the chosen host cannot hold the instance
    ├── HypervisorUnavailable the hypervisor could not be reached
    └── DriverMisconfigured   the driver's settings are wrong (e.g. refused credentials)

Each driver translates its library's errors into this tree in one place.
"""

from __future__ import annotations


class VirtError(Exception):
    """Base of every driver error."""


class InstanceNotFound(VirtError):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"instance {uuid} not found")
        self.uuid = uuid


class IllegalTransition(VirtError):
    def __init__(
        self, uuid: str, state: str, action: str, allowed: list[str], detail: str = ""
    ) -> None:
        super().__init__(
            detail
            or f"cannot {action} instance {uuid} while it is {state}"
            f" (allowed: {', '.join(allowed)})"
        )
        self.uuid = uuid
        self.state = state
        self.action = action


class InvalidSpec(VirtError):
    pass


class NoCapacity(VirtError):
    pass


class HypervisorUnavailable(VirtError):
    pass


class DriverMisconfigured(VirtError):
    pass
