"""What goes wrong with web hooks, as the routes and the CLI see it.

    HookError                 (never raised itself)
    ├── BadSubscription       a subscription asked for is not valid: its URL,
    │                         secret, event patterns or project (400)
    └── UnknownSubscription   no subscription of that id, or not the caller's (404)

The database's failures stay celldb's DatabaseUnavailable (503 through the
API's one translation); the bus's and receivers' never leave the dispatcher
and the deliverers, which retry.
"""

from __future__ import annotations


class HookError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadSubscription(HookError):
    pass


class UnknownSubscription(HookError):
    pass
