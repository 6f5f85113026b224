"""Whom a call acts for: the holder of an API token, or everyone.

The port a call arrives on decides (`cells.security.scope`); the principal
travels with the call inside a cell and is never sent to the cells below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a token."""

    token_id: str
    project: str
    role: str
    # An admin acting for a project (an API process for its users): what it
    # vouches for beyond a member's rights (the ports of the network service it
    # bound, the uuid it chose) is taken as given (cells.security.scope).
    vouched: bool = False

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def owns(self, project: str) -> bool:
        return self.admin or project == self.project


# A cell serving without [auth] (or a call from a parent cell) acts for everyone.
EVERYONE = Principal("", "", "admin")
