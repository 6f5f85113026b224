"""Keystone's roles and role assignments: read from the identity backend in
use, given and taken back in the users file (api.identity.users).

    GET    /identity/v3/roles[/{id}]                               200  the four roles
    PUT    /identity/v3/projects/{p}/users/{u}/roles/{r}           204  give (idempotent)
    GET    /identity/v3/projects/{p}/users/{u}/roles/{r}           204  given? 404 if not
    DELETE /identity/v3/projects/{p}/users/{u}/roles/{r}           204  take back; 404 if
                                                                        not given
    GET    /identity/v3/projects/{p}/users/{u}/roles               200  those given
    GET    /identity/v3/role_assignments                           200  ?user.id=,
                         ?scope.project.id=, ?role.id=, ?effective, ?include_names

All for admins only, as Keystone's default policies have them. The roles are
fixed: admin, manager, member, reader, each implying the ones after it (a
role's id is its name); `effective` lists the implied ones too. Taking a role
back ends the user's tokens on that project (TokenIssuer.end_tokens), as
Keystone's revocation event does; they log in again for new ones. Only
project scopes exist: no domain or system grants. With a read-only backend
(LDAP: a role is membership of a mapped group) the reads show the directory's
users and their groups' roles (a listing of everyone's bounded by the backend,
then `"truncated": true`), and giving and taking back are refused (403,
api.identity.backends.loop.check_writable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from api.identity.access import BaseUrl, Who, admin_only, collection
from api.identity.backends.base import Accounts
from api.identity.backends.file import FileBackend
from api.identity.backends.loop import LoopBackend
from api.identity.domains import DEFAULT_ID, DEFAULT_NAME
from api.identity.errors import UnknownProject, UnknownRole, UnknownUser
from api.identity.revocation import grant_subject
from api.identity.tokens import TokenIssuer
from api.identity.users import ROLES, Grant, UserStore, implied

ROLES_PATH = "/identity/v3/roles"
ASSIGNMENTS_PATH = "/identity/v3/role_assignments"
GRANT_PATH = "/identity/v3/projects/{p}/users/{u}/roles/{r}"
_DESCRIPTIONS = {
    "admin": "Everything, in every project",
    "manager": "A member who may also manage their project",
    "member": "Use and change their project's resources",
    "reader": "Look at their project's resources",
}


class AssignmentHandlers:
    """The role and role assignment endpoints; `who(request)` is the caller
    (Unauthorized without a valid token); `issuer` ends the tokens of a user
    whose role on a project is taken back."""

    def __init__(self, users: UserStore, issuer: TokenIssuer, who: Who,
                 base_url: BaseUrl, backend: LoopBackend | None = None) -> None:
        self._users = users
        # Where the grants shown come from, and whether they may be changed here.
        self._backend = backend or LoopBackend(FileBackend(users))
        self._issuer = issuer
        self._who = who
        self._base_url = base_url

    async def roles(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:list_roles")
        base = self._base_url(request)
        name = request.query.get("name")
        found = [role_body(base, r) for r in ROLES if name is None or r == name]
        return collection(request, base, ROLES_PATH, "roles", found)

    async def role(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:get_role")
        return web.json_response({"role": role_body(
            self._base_url(request), known_role(request.match_info["r"]))})

    async def give(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:create_grant")
        self._backend.check_writable()
        user, project, role = self._grant_path(request)
        await asyncio.to_thread(self._users.grant, user, project, role)
        return web.Response(status=204)

    async def check(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:check_grant")
        user, project, role = self._grant_path(request)
        if role not in await self._held(user, project):
            raise _not_given(user, project, role)
        return web.Response(status=204)

    async def take(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:revoke_grant")
        self._backend.check_writable()
        await asyncio.to_thread(self._take, *self._grant_path(request))
        return web.Response(status=204)

    def _take(self, user: str, project: str, role: str) -> None:
        """The tokens are ended before the role goes: never a moment the other way round.
        (Only the users file is written: the backend was checked to be it.)"""
        self._check_stored(user, project)
        if role not in self._users.roles_on(user, project):
            raise _not_given(user, project, role)
        self._issuer.end_tokens(grant_subject(user, project))
        self._users.revoke_grant(user, project, role)

    async def given(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:list_grants")
        user, project = request.match_info["u"], request.match_info["p"]
        held = await self._held(user, project)
        base = self._base_url(request)
        found = [role_body(base, r) for r in held]
        path = GRANT_PATH.format(p=project, u=user, r="")[:-1]
        return collection(request, base, path, "roles", found)

    async def assignments(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:list_role_assignments")
        query = request.query
        listed = await self._listed(query.get("user.id"))
        grants: Iterable[Grant] = [g for a in listed.found for g in a.grants]
        if "effective" in query:
            grants = dict.fromkeys(Grant(g.user_id, g.project_id, r)
                                   for g in grants for r in implied(g.role))
        wanted = {"user.id": "user_id", "scope.project.id": "project_id", "role.id": "role"}
        found = [g for g in grants
                 if all(getattr(g, field) == query[key]
                        for key, field in wanted.items() if key in query)]
        names = "include_names" in query and query["include_names"].lower() not in (
            "0", "false", "no")
        users = {a.user.id: a.user.name for a in listed.found if a.user} if names else None
        base = self._base_url(request)
        bodies = [self._assignment(base, g, users) for g in found]
        return collection(request, base, ASSIGNMENTS_PATH, "role_assignments", bodies,
                          listed.truncated)

    async def _listed(self, user_id: str | None) -> Accounts:
        """Everyone with their grants, or the one of that id (asked for, not
        picked from a listing the backend may have cut short)."""
        if user_id is None:
            return await self._backend.users()
        return Accounts((await self._backend.account(user_id),))

    def _grant_path(self, request: web.Request) -> tuple[str, str, str]:
        info = request.match_info
        return info["u"], info["p"], known_role(info["r"])

    async def _held(self, user: str, project: str) -> list[str]:
        """The roles given to the user on the project (not those they imply),
        highest first, as the backend says; UnknownUser, UnknownProject."""
        account = await self._backend.account(user)
        if account.user is None:
            raise UnknownUser(f"Could not find user: {user[:64]}.")
        if self._backend.project_by_id(project) is None:
            raise UnknownProject(f"Could not find project: {project[:64]}.")
        held = {g.role for g in account.grants if g.project_id == project}
        return [r for r in ROLES if r in held]

    def _check_stored(self, user: str, project: str) -> None:
        if self._users.user_by_id(user) is None:
            raise UnknownUser(f"Could not find user: {user[:64]}.")
        if self._users.project_by_id(project) is None:
            raise UnknownProject(f"Could not find project: {project[:64]}.")

    def _assignment(self, base: str, g: Grant,
                    users: dict[str, str] | None) -> dict[str, Any]:
        """One assignment's body; with `users` (id -> name) the names too."""
        role: dict[str, Any] = {"id": g.role}
        user: dict[str, Any] = {"id": g.user_id}
        project: dict[str, Any] = {"id": g.project_id}
        if users is not None:
            domain = {"id": DEFAULT_ID, "name": DEFAULT_NAME}
            found_project = self._backend.project_by_id(g.project_id)
            role["name"] = g.role
            user |= {"name": users.get(g.user_id, ""), "domain": domain}
            project |= {"name": found_project.name if found_project else "",
                        "domain": domain}
        link = base + GRANT_PATH.format(p=g.project_id, u=g.user_id, r=g.role)
        return {"role": role, "user": user, "scope": {"project": project},
                "links": {"assignment": link}}


def known_role(ident: str) -> str:
    """`ident` when it is a role's id; UnknownRole (Keystone's 404) otherwise."""
    if ident not in ROLES:
        raise UnknownRole(f"Could not find role: {ident[:64]}.")
    return ident


def role_body(base: str, role: str) -> dict[str, Any]:
    """A role as Keystone writes one: global (no domain), id = name."""
    return {"id": role, "name": role, "domain_id": None,
            "description": _DESCRIPTIONS[role], "options": {"immutable": True},
            "links": {"self": f"{base}{ROLES_PATH}/{role}"}}


def _not_given(user: str, project: str, role: str) -> UnknownRole:
    return UnknownRole(f"Could not find role assignment with role: {role}, user or group:"
                       f" {user[:64]}, project, domain, or system: {project[:64]}.")
