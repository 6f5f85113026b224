"""What the network agent refuses or fails at.

    NetworkAgentError
    ├── MalformedPort   an object whose hints do not describe a port to wire
    │                   (returned by objects.wiring_of, as a value: the caller
    │                   reports the object ERROR with it)
    └── WiringFailed    a driver could not make or remove a port's links; the
                        one error every WiringDriver raises (`reason` says the
                        command and what it answered)

The drivers translate what is below them (a failed `ip` command, a missing
physical interface mapping) into WiringFailed in one place each.
"""

from __future__ import annotations


class NetworkAgentError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedPort(NetworkAgentError):
    pass


class WiringFailed(NetworkAgentError):
    pass
