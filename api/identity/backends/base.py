"""The identity backend contract, as Keystone's identity driver: authenticate,
get a user, list a user's groups (here already mapped to role grants on
projects). Implementations import this module, never the reverse.

Every method may raise DirectoryUnavailable when the store behind it cannot
be reached (the users file cannot: it raises UsersUnreadable when broken).
"""

from __future__ import annotations

from typing import Protocol

from api.identity.users import Grant, Project, User


class IdentityBackend(Protocol):
    """Users, their grants and the projects they are on. Thread-safe."""

    name: str  # "file" or "ldap": for logs and messages
    # Whether the truth changes outside cellrouter (a directory edited by its
    # own tools): then every token is checked against `get_user`/`grants_of`,
    # whose answers a backend may keep for at most `cache_seconds`. A backend
    # changed only through cellrouter records a revocation with each change.
    external: bool
    cache_seconds: float

    def authenticate(self, name: str, password: str) -> User:
        """The enabled user whose name and password these are, answered fresh
        (no cache); Unauthorized otherwise, with the same message whatever was
        wrong. Blocking (a hash or a round trip): call it off the event loop."""
        ...

    def get_user(self, user_id: str) -> User | None:
        """The user of that id, disabled ones included; None when there is none.
        Cheap: from memory at most `cache_seconds` old."""
        ...

    def grants_of(self, user_id: str) -> tuple[Grant, ...]:
        """The roles the user holds on projects (for LDAP: their groups,
        mapped); none for an unknown user. Cheap, as get_user."""
        ...

    def password_changed_at(self, user_id: str) -> float | None:
        """When the user's password last changed (seconds since the epoch, rounded
        up to what the store records); None when the store does not say. Cheap,
        as get_user. A token issued before is refused."""
        ...

    def projects(self) -> list[Project]:
        """Every project a user may hold a role on."""
        ...

    def project_by_id(self, project_id: str) -> Project | None:
        ...

    def project_by_name(self, name: str) -> Project | None:
        ...
