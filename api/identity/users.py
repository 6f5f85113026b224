"""The users file: who may log in, the projects, who holds which role on which project.

    cellrouter users add alice --project acme --role member --file users.json
    cellrouter users list --file users.json
    cellrouter users remove alice --file users.json

and, through the API, Keystone's admin endpoints (api.identity.project_routes,
user_routes, assignment_routes). The file is JSON, mode 0600, replaced atomically
on every change:

    {"users":    [{"id", "name", "project", "role", "password_hash"[, "enabled"]}],
     "projects": [{"id", "name", "description", "enabled"}],
     "grants":   [{"user_id", "project_id", "role"}]}

`enabled` is written only for a disabled user (`cellrouter users disable`), so
a file without one reads as before. `grants` is the truth about roles. A
user's `project` is their default project ("" for none) and `role` their
highest role on it ("" for none), written out so that a release that knows
only `users` still reads the file. A file of that release (no `projects`, no
`grants`) reads as one grant per user and a project per project name, whose id
is its name, as the tree names projects.
`cellrouter users add` makes a missing project that way (id = name); a project
made through the API gets a uuid, as Keystone's do.

A `UserStore` re-reads the file when it changes, so every API process sees a
change without a restart. Writers (the CLI, every API process) take an flock
on the file's directory around each read-modify-write, so no change is lost.

Roles, each implying those after it, as Keystone 2024.1's defaults have them:
admin > manager > member > reader (`ROLES`, `implied`).

Passwords are kept as scrypt hashes (api.identity.passwords); a password
never reaches a log line, an exception or the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from api.identity.errors import (
    BadAuthRequest,
    ProjectExists,
    Unauthorized,
    UnknownProject,
    UnknownUser,
    UserExists,
    UsersUnreadable,
)
from api.identity.files import write_private
from api.identity.passwords import DUMMY_HASH, check_hash, hash_password, verify_password

ROLES = ("admin", "manager", "member", "reader")  # highest first: each implies the rest
NAME_RULE = "1 to {longest} letters, digits or any of _ . @ -"
USER_NAME_MAX = 255  # Keystone's: what the API takes (Tempest's names pass 64)
AUTH_FAILED = "The request you have made requires authentication."

_NAME = re.compile(r"[A-Za-z0-9_.@-]+")
_FIELDS = ("id", "name", "project", "role", "password_hash")
_PROJECT_FIELDS = {"id": str, "name": str, "description": str, "enabled": bool}
_GRANT_FIELDS = ("user_id", "project_id", "role")


def implied(role: str) -> tuple[str, ...]:
    """The roles `role` carries, itself first: admin gives all four."""
    return ROLES[ROLES.index(role):] if role in ROLES else (role,)


def highest(roles: list[str] | set[str] | tuple[str, ...]) -> str:
    """The highest of `roles` ("" for none)."""
    return next((r for r in ROLES if r in roles), "")


@dataclass(frozen=True, slots=True)
class User:
    """A user; `project` is their default project's id ("" for none), `role`
    their highest role on it ("" for none)."""

    id: str
    name: str
    project: str
    role: str
    password_hash: str = field(repr=False)
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Grant:
    """`role` given to a user on a project (one role assignment)."""

    user_id: str
    project_id: str
    role: str


@dataclass(frozen=True, slots=True)
class _Content:
    """What the file holds; users' `role` is recomputed from the grants on write."""

    users: tuple[User, ...] = ()
    projects: tuple[Project, ...] = ()
    grants: tuple[Grant, ...] = ()

    def roles(self) -> dict[tuple[str, str], set[str]]:
        found: dict[tuple[str, str], set[str]] = {}
        for g in self.grants:
            found.setdefault((g.user_id, g.project_id), set()).add(g.role)
        return found


class UserStore:
    """The users file: read when it changes, written atomically. Thread-safe,
    and safe beside other processes writing the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._content = _Content()
        self._roles: dict[tuple[str, str], set[str]] = {}

    # ------------------------------------------------------------ reading

    def users(self) -> list[User]:
        """Everyone in the file, in the order they were added; none when there is no file."""
        return list(self._current().users)

    def projects(self) -> list[Project]:
        return list(self._current().projects)

    def grants(self) -> list[Grant]:
        return list(self._current().grants)

    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users() if u.id == user_id), None)

    def project_by_id(self, project_id: str) -> Project | None:
        return next((p for p in self.projects() if p.id == project_id), None)

    def project_by_name(self, name: str) -> Project | None:
        return next((p for p in self.projects() if p.name == name), None)

    def roles_on(self, user_id: str, project_id: str) -> list[str]:
        """The roles given to the user on the project (not those they imply), highest first."""
        with self._lock:
            self._refresh()
            held = self._roles.get((user_id, project_id), set())
        return [r for r in ROLES if r in held]

    def role_on(self, user_id: str, project_id: str) -> str:
        """The user's highest role on the project; "" when they have none (or
        either is gone). Cheap: a stat and a lookup, for every request."""
        return highest(self.roles_on(user_id, project_id))

    def authenticate(self, name: str, password: str) -> User:
        """The user whose name and password these are; Unauthorized otherwise.

        Takes one scrypt run (~50 ms) whether or not the user exists, so the time
        does not tell which; call it off the event loop."""
        user = next((u for u in self.users() if u.name == name), None)
        stored = user.password_hash if user else DUMMY_HASH
        if not verify_password(password, stored) or user is None or not user.enabled:
            raise Unauthorized(AUTH_FAILED)
        return user

    # ------------------------------------------------------------ the CLI's changes

    def add(self, name: str, project: str, role: str, password: str) -> User:
        """Add a user with `role` on the project named `project` (or of that id;
        made, id = name, when there is neither) and save; BadAuthRequest for a
        bad name, project, role or an empty password, UserExists when the name
        is taken."""
        _check_new(name, project, role, password)
        made = hash_password(password)

        def change(c: _Content) -> _Content:
            _check_free(c, name)
            found = next((p for p in c.projects if p.name == project), None) or next(
                (p for p in c.projects if p.id == project), None)
            target = found or Project(project, project)
            user = User(uuid.uuid4().hex, name, target.id, role, made)
            return replace(c, users=(*c.users, user),
                           projects=c.projects if found else (*c.projects, target),
                           grants=(*c.grants, Grant(user.id, target.id, role)))
        try:
            return self._user_named(self._change(change), name)
        except UserExists:
            raise UserExists(f"there is a user named {name} in {self.path} already") from None

    def remove(self, name: str) -> None:
        """Remove the user (and their grants) and save; UnknownUser when there is
        none of that name."""
        def change(c: _Content) -> _Content:
            user = next((u for u in c.users if u.name == name), None)
            if user is None:
                raise UnknownUser(f"there is no user named {name} in {self.path}")
            return _without_user(c, user.id)
        self._change(change)

    def set_enabled(self, name: str, enabled: bool) -> User:
        """Enable or disable the user (a disabled one cannot log in) and save;
        UnknownUser when there is none of that name. Idempotent."""
        return self._user_named(self._change(lambda c: _edit_user(
            c, name, self.path, lambda u: replace(u, enabled=enabled))), name)

    def set_password(self, name: str, password: str) -> User:
        """Give the user a new password and save; BadAuthRequest for an empty
        one, UnknownUser. One scrypt run."""
        if not password:
            raise BadAuthRequest("a password must not be empty")
        made = hash_password(password)
        return self._user_named(self._change(lambda c: _edit_user(
            c, name, self.path, lambda u: replace(u, password_hash=made))), name)

    # ------------------------------------------------------------ the API's changes

    def create_user(self, name: str, password: str, default_project: str = "") -> User:
        """A new user with no role yet; BadAuthRequest for a bad name or an empty
        password, UserExists when the name is taken, UnknownProject for a
        default project that is not there. One scrypt run: off the event loop."""
        check_name("user", name, USER_NAME_MAX)
        if not password:
            raise BadAuthRequest("a password must not be empty")
        user = User(uuid.uuid4().hex, name, default_project, "", hash_password(password))

        def change(c: _Content) -> _Content:
            _check_free(c, name)
            if default_project and not any(p.id == default_project for p in c.projects):
                raise UnknownProject(f"Could not find project: {default_project[:64]}.")
            return replace(c, users=(*c.users, user))
        return self._user_named(self._change(change), name)

    def delete_user(self, user_id: str) -> None:
        """Remove the user and their grants; UnknownUser when there is none."""
        def change(c: _Content) -> _Content:
            if not any(u.id == user_id for u in c.users):
                raise UnknownUser(f"Could not find user: {user_id[:64]}.")
            return _without_user(c, user_id)
        self._change(change)

    def create_project(self, name: str, description: str = "", enabled: bool = True) -> Project:
        """A new project with a uuid; BadAuthRequest for a bad name, ProjectExists
        when the name (or, by chance, the id) is taken."""
        check_name("project", name)
        project = Project(uuid.uuid4().hex, name, description, enabled)

        def change(c: _Content) -> _Content:
            if any(p.name == name or p.id == project.id for p in c.projects):
                raise ProjectExists(
                    "Conflict occurred attempting to store project - it is not permitted"
                    f" to have two projects with the same name in the same domain : {name}.")
            return replace(c, projects=(*c.projects, project))
        self._change(change)
        return project

    def delete_project(self, project_id: str) -> None:
        """Remove the project and every grant on it (users whose default it was
        keep none); UnknownProject when there is none."""
        def change(c: _Content) -> _Content:
            if not any(p.id == project_id for p in c.projects):
                raise UnknownProject(f"Could not find project: {project_id[:64]}.")
            users = tuple(replace(u, project="") if u.project == project_id else u
                          for u in c.users)
            return _Content(users, tuple(p for p in c.projects if p.id != project_id),
                            tuple(g for g in c.grants if g.project_id != project_id))
        self._change(change)

    def grant(self, user_id: str, project_id: str, role: str) -> None:
        """Give the role; idempotent. UnknownUser, UnknownProject, BadAuthRequest
        for a role not in ROLES."""
        if role not in ROLES:
            raise BadAuthRequest(f"a role is one of {', '.join(ROLES)}, not {role!r}")
        wanted = Grant(user_id, project_id, role)

        def change(c: _Content) -> _Content:
            _check_both(c, user_id, project_id)
            return c if wanted in c.grants else replace(c, grants=(*c.grants, wanted))
        self._change(change)

    def revoke_grant(self, user_id: str, project_id: str, role: str) -> bool:
        """Take the role back; whether it was given. UnknownUser, UnknownProject."""
        wanted = Grant(user_id, project_id, role)
        found: list[bool] = []

        def change(c: _Content) -> _Content:
            _check_both(c, user_id, project_id)
            found.append(wanted in c.grants)
            return replace(c, grants=tuple(g for g in c.grants if g != wanted))
        self._change(change)
        return found[-1]

    # ------------------------------------------------------------ internals

    def _current(self) -> _Content:
        with self._lock:
            self._refresh()
            return self._content

    def _refresh(self) -> None:
        """Re-read the file if it changed (under self._lock)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._content, self._roles = None, _Content(), {}
            return
        # The inode too: an atomic replace always makes a new one, even within
        # the filesystem's timestamp granularity and at the same size.
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            self._content, self._stamp = _read(self.path), stamp
            self._roles = self._content.roles()

    def _change(self, change: Callable[[_Content], _Content]) -> _Content:
        """Apply `change` to the file's current content and save, holding this
        process's and the directory's lock, so no other writer's change is lost.
        `change` may raise (then nothing is written)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._writing, _directory_lock(self.path.parent):
            new = _with_roles(change(self._current()))
            self._write(new)
            return new

    def _user_named(self, content: _Content, name: str) -> User:
        return next(u for u in content.users if u.name == name)

    def _write(self, c: _Content) -> None:
        data = {"users": [_user_row(u) for u in c.users],
                "projects": [asdict(p) for p in c.projects],
                "grants": [asdict(g) for g in c.grants]}
        write_private(self.path, (json.dumps(data, indent=2) + "\n").encode())


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive flock on `directory` itself (no lock file beside the users file)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def check_name(what: str, value: str, longest: int = 64) -> None:
    """BadAuthRequest unless `value` is a valid user or project name, at most
    `longest` characters (64: the CLI's, and Keystone's for a project)."""
    if not (_NAME.fullmatch(value) and len(value) <= longest):
        rule = NAME_RULE.format(longest=longest)
        raise BadAuthRequest(f"a {what} name must be {rule}, not {value[:longest + 1]!r}")


def _check_new(name: str, project: str, role: str, password: str) -> None:
    check_name("user", name)
    check_name("project", project)
    if role not in ROLES:
        raise BadAuthRequest(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    if not password:
        raise BadAuthRequest("a password must not be empty")


def _check_free(c: _Content, name: str) -> None:
    if any(u.name == name for u in c.users):
        raise UserExists(f"Conflict occurred attempting to store user - Duplicate entry"
                         f" found with name {name} at domain ID default.")


def _check_both(c: _Content, user_id: str, project_id: str) -> None:
    if not any(u.id == user_id for u in c.users):
        raise UnknownUser(f"Could not find user: {user_id[:64]}.")
    if not any(p.id == project_id for p in c.projects):
        raise UnknownProject(f"Could not find project: {project_id[:64]}.")


def _edit_user(c: _Content, name: str, path: Path, edit: Callable[[User], User]) -> _Content:
    if not any(u.name == name for u in c.users):
        raise UnknownUser(f"there is no user named {name} in {path}")
    return replace(c, users=tuple(edit(u) if u.name == name else u for u in c.users))


def _user_row(user: User) -> dict[str, Any]:
    row = asdict(user)
    if user.enabled:
        del row["enabled"]  # as a release without `enabled` wrote it, and reads it
    return row


def _without_user(c: _Content, user_id: str) -> _Content:
    return replace(c, users=tuple(u for u in c.users if u.id != user_id),
                   grants=tuple(g for g in c.grants if g.user_id != user_id))


def _with_roles(c: _Content) -> _Content:
    """Each user's `role`: their highest on their default project."""
    roles = c.roles()
    return replace(c, users=tuple(
        replace(u, role=highest(roles.get((u.id, u.project), set()))) for u in c.users))


def _read(path: Path) -> _Content:
    try:
        data = json.loads(path.read_bytes())
        users = tuple(_user(row) for row in data["users"])
        if "grants" not in data:  # written by a release without projects and grants
            return _Content(users, _implicit_projects(users),
                            tuple(Grant(u.id, u.project, u.role) for u in users if u.role))
        projects = tuple(_project(row) for row in data["projects"])
        grants = tuple(_grant(row) for row in data["grants"])
        return _with_roles(_Content(users, projects, grants))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsersUnreadable(f"cannot read the users file {path}: {exc}") from None


def _implicit_projects(users: tuple[User, ...]) -> tuple[Project, ...]:
    names = dict.fromkeys(u.project for u in users if u.project)
    return tuple(Project(name, name) for name in names)


def _user(row: dict[str, Any]) -> User:
    fields = sorted(set(row) - {"enabled"})
    if fields != sorted(_FIELDS) or not all(isinstance(row[f], str) for f in _FIELDS):
        raise ValueError(f"a user must have exactly the string fields {', '.join(_FIELDS)}"
                         " (and enabled, true or false)")
    if not isinstance(row.get("enabled", True), bool):
        raise ValueError("a user's enabled must be true or false")
    check_hash(row["password_hash"])  # a broken hash is found now, not at someone's login
    return User(**row)


def _project(row: dict[str, Any]) -> Project:
    if sorted(row) != sorted(_PROJECT_FIELDS) or not all(
            isinstance(row[f], kind) for f, kind in _PROJECT_FIELDS.items()):
        raise ValueError(f"a project must have exactly the fields {', '.join(_PROJECT_FIELDS)}")
    return Project(**row)


def _grant(row: dict[str, Any]) -> Grant:
    if sorted(row) != sorted(_GRANT_FIELDS) or not all(
            isinstance(row[f], str) for f in _GRANT_FIELDS):
        raise ValueError(f"a grant must have exactly the string fields {', '.join(_GRANT_FIELDS)}")
    return Grant(**row)
