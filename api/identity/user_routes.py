"""Keystone's user endpoints: reads from the identity backend in use, writes to
the users file (api.identity.users).

    POST   /identity/v3/users                  201  make one (admins); 409 for a name taken
    GET    /identity/v3/users                  200  the list (admins); ?name=, ?domain_id=
    GET    /identity/v3/users/{id}             200  one (admins, and the user themselves)
    DELETE /identity/v3/users/{id}             204  them and their roles (admins); their
                                                    tokens stop working (TokenIssuer.end_tokens)
    GET    /identity/v3/users/{id}/projects    200  the projects they have a role on

A user made here has a password (required: the users file holds no user
without one), no role until one is given (api.identity.assignment_routes), is
enabled, in Default, and named by the users file's rule (users.NAME_RULE) in up
to 255 characters, as Keystone allows (the CLI keeps to 64).
Fields Keystone keeps as extras (email, description) are not kept. The
password is hashed off the event loop (one scrypt run) and never echoed.
The reads show the users of the backend in use (api.identity.backends): the
users file, or with LDAP the directory's users (ids as their tokens carry them,
projects from their groups through the config's mapping; a listing bounded by
the backend, then `"truncated": true`). With a read-only backend (LDAP) making
or deleting a user is refused (403, api.identity.backends.loop.check_writable),
as Keystone's LDAP driver does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.identity.access import (
    BaseUrl,
    Who,
    admin_only,
    admin_or,
    collection,
    flag,
    read_member,
    string,
)
from api.identity.backends.base import Accounts
from api.identity.backends.file import FileBackend
from api.identity.backends.loop import LoopBackend
from api.identity.domains import DEFAULT_ID, matches
from api.identity.errors import BadAuthRequest, UnknownUser
from api.identity.project_routes import check_domain, project_body
from api.identity.revocation import user_subject
from api.identity.tokens import TokenIssuer
from api.identity.users import Grant, User, UserStore

PATH = "/identity/v3/users"


class UserHandlers:
    """The user endpoints; `who(request)` is the caller (Unauthorized without a
    valid token), `base_url(request)` where clients reach the API; `issuer`
    ends a deleted user's tokens."""

    def __init__(self, users: UserStore, issuer: TokenIssuer, who: Who,
                 base_url: BaseUrl, backend: LoopBackend | None = None) -> None:
        self._users = users
        # Where the users shown come from, and whether they may be changed here.
        self._backend = backend or LoopBackend(FileBackend(users))
        self._issuer = issuer
        self._who = who
        self._base_url = base_url

    async def create(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:create_user")
        self._backend.check_writable()
        asked = await read_member(request, "user")
        name, password = string(asked, "name"), string(asked, "password")
        check_domain(string(asked, "domain_id", DEFAULT_ID))
        if not flag(asked, "enabled", True):
            raise BadAuthRequest("Invalid input for field 'enabled': a disabled user is not"
                                 " supported here.")
        default = asked.get("default_project_id") or ""
        if not isinstance(default, str):
            raise BadAuthRequest("Invalid input for field 'default_project_id': it is not"
                                 " of type 'string'.")
        made = await asyncio.to_thread(self._users.create_user, name, password, default)
        return web.json_response({"user": self.body(request, made)}, status=201)

    async def index(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:list_users")
        query = request.query
        listed = Accounts(())
        if query.get("domain_id", DEFAULT_ID) == DEFAULT_ID:
            listed = await self._listed(query.get("name"))
        found = [self.body(request, a.user) for a in listed.found if a.user is not None]
        found = [u for u in found if matches(u, query)]
        return collection(request, self._base_url(request), PATH, "users", found,
                          listed.truncated)

    async def _listed(self, name: str | None) -> Accounts:
        """Everyone, or the one of that name: asked by name, not picked from a
        listing the backend may have cut short."""
        if name is None:
            return await self._backend.users()
        return Accounts((await self._backend.user_by_name(name),))

    async def show(self, request: web.Request) -> web.StreamResponse:
        ident = request.match_info["id"]
        caller = await self._who(request)
        admin_or(caller, "identity:get_user", caller.user_id == ident)
        found, _ = await self.find(ident)
        return web.json_response({"user": self.body(request, found)})

    async def delete(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:delete_user")
        self._backend.check_writable()
        await asyncio.to_thread(self._delete, request.match_info["id"])
        return web.Response(status=204)

    def _delete(self, ident: str) -> None:
        """Their tokens are ended before they go: never a moment the other way round.
        (Only the users file is written: the backend was checked to be it.)"""
        if self._users.user_by_id(ident) is None:
            raise UnknownUser(f"Could not find user: {ident[:64]}.")
        self._issuer.end_tokens(user_subject(ident))
        self._users.delete_user(ident)

    async def projects(self, request: web.Request) -> web.StreamResponse:
        ident = request.match_info["id"]
        caller = await self._who(request)
        admin_or(caller, "identity:list_user_projects", caller.user_id == ident)
        _, grants = await self.find(ident)
        held = {g.project_id for g in grants}
        base = self._base_url(request)
        found = [project_body(base, p) for p in self._backend.projects() if p.id in held]
        return collection(request, base, f"{PATH}/{ident}/projects", "projects", found)

    async def find(self, ident: str) -> tuple[User, tuple[Grant, ...]]:
        """The user of id `ident` and their grants, as the backend says;
        UnknownUser (Keystone's 404) when there is none."""
        found = await self._backend.account(ident)
        if found.user is None:
            raise UnknownUser(f"Could not find user: {ident[:64]}.")
        return found.user, found.grants

    def body(self, request: web.Request, user: User) -> dict[str, Any]:
        return user_body(self._base_url(request), user)


def user_body(base: str, user: User) -> dict[str, Any]:
    """`user` as Keystone writes one, never with its password hash."""
    body: dict[str, Any] = {
        "id": user.id, "name": user.name, "domain_id": DEFAULT_ID, "enabled": user.enabled,
        "password_expires_at": None, "options": {},
        "links": {"self": f"{base}{PATH}/{user.id}"}}
    if user.project:
        body["default_project_id"] = user.project
    return body
