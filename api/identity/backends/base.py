"""The identity backend contract, as Keystone's identity driver: authenticate,
get a user with their groups (here already mapped to role grants on
projects), list the users. Implementations import this module, never the reverse.

The contract is synchronous and its calls may block (a hash, a directory round
trip): handlers on the event loop never call a backend directly but through
`api.identity.backends.loop.LoopBackend`, the one place that decides what runs
on the loop and what on a thread.

Every method may raise DirectoryUnavailable when the store behind it cannot
be reached (the users file cannot: it raises UsersUnreadable when broken).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from api.identity.users import Grant, Project, User


@dataclass(frozen=True, slots=True)
class Account:
    """What a backend says of one user id: the user (None: there is none, and
    then no grants), the roles they hold on projects (for LDAP: their groups,
    mapped), and when their password last changed (seconds since the epoch,
    rounded up to what the store records; None when the store does not say:
    a token issued before is refused)."""

    user: User | None
    grants: tuple[Grant, ...] = ()
    password_changed: float | None = None


@dataclass(frozen=True, slots=True)
class Accounts:
    """A listing of users, each with their grants, in the store's order:
    `found` holds at most the backend's bound (LDAP: `list_limit`), and
    `truncated` says there were more (Keystone's `"truncated": true`)."""

    found: tuple[Account, ...]
    truncated: bool = False


class IdentityBackend(Protocol):
    """Users, their grants and the projects they are on. Thread-safe."""

    name: str  # "file" or "ldap": for logs and messages
    # Whether the truth changes outside cellrouter (a directory edited by its
    # own tools): then every token is checked against `account`, whose answers
    # a backend may keep for at most `cache_seconds`. A backend changed only
    # through cellrouter records a revocation with each change.
    external: bool
    cache_seconds: float
    # Whether cellrouter may change users, projects and roles (the admin API,
    # `cellrouter users`): only its own users file. A directory is read-only,
    # as Keystone's LDAP driver is: writes are refused with 403.
    writable: bool
    # How many blocking calls may usefully run at once (LDAP: its connection
    # pool; the users file: scrypt runs, CPU-bound).
    threads: int

    def authenticate(self, name: str, password: str) -> User:
        """The enabled user whose name and password these are, answered fresh
        (no cache); Unauthorized otherwise, with the same message whatever was
        wrong. Blocking (a hash or a round trip)."""
        ...

    def account(self, user_id: str) -> Account:
        """What the store says of the user of that id, disabled ones included
        (user None when there is none). At most `cache_seconds` old; blocking
        when it is not in memory (a round trip)."""
        ...

    def remembered(self, user_id: str) -> Account | None:
        """What `account` would answer when that is at hand without blocking
        (in memory); None when it would take a round trip. Never blocks."""
        ...

    def users(self) -> Accounts:
        """Every user the store holds (disabled ones included; never one with
        user None), with their grants, as `account` would answer each: what
        Keystone's admin reads and `cellrouter users list` show. Bounded (see
        `Accounts`). Blocking (LDAP: a search, and a group search per user
        whose answer is not remembered)."""
        ...

    def user_by_name(self, name: str) -> Account:
        """What the store says of the user of that name (user None when there
        is none, or, in a directory, several), as `account` would answer.
        Blocking (a round trip)."""
        ...

    def projects(self) -> list[Project]:
        """Every project a user may hold a role on. Never blocks (memory, or
        the users file: a stat)."""
        ...

    def project_by_id(self, project_id: str) -> Project | None:
        ...

    def project_by_name(self, name: str) -> Project | None:
        ...
