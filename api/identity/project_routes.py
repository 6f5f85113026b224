"""Keystone's project endpoints, over the users file (api.identity.users).

    POST   /identity/v3/projects        201  make one (admins); 409 for a name taken
    GET    /identity/v3/projects        200  the list (admins); ?name=, ?domain_id=, ?enabled=
    GET    /identity/v3/projects/{id}   200  one (admins, and the project's own tokens)
    DELETE /identity/v3/projects/{id}   204  it and every role on it (admins); its
                                             tokens stop working (TokenIssuer.end_tokens)

With the LDAP backend the projects shown are those of the config's group
mapping (the backend's), and creating or deleting one is refused (403: the
directory is read-only here, api.identity.backends.loop.check_writable).
Every project is in the one domain, Default, directly under it. A project
made here gets a uuid hex id, as Keystone's do; one made by
`cellrouter users add` has its name as its id. Names follow the users file's
rule (users.NAME_RULE). Errors are Keystone's bodies (api.identity.routes
mounts these behind its guard).
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
from api.identity.backends.file import FileBackend
from api.identity.backends.loop import LoopBackend
from api.identity.domains import DEFAULT_ID, matches
from api.identity.errors import DomainNotFound, UnknownProject
from api.identity.revocation import project_subject
from api.identity.tokens import TokenIssuer
from api.identity.users import Project, UserStore

PATH = "/identity/v3/projects"


class ProjectHandlers:
    """The project endpoints; `who(request)` is the caller (Unauthorized without
    a valid token), `base_url(request)` where clients reach the API; `issuer`
    ends a deleted project's tokens."""

    def __init__(self, users: UserStore, issuer: TokenIssuer, who: Who,
                 base_url: BaseUrl, backend: LoopBackend | None = None) -> None:
        self._users = users
        # Where the projects shown come from, and whether they may be changed here.
        self._shown = backend or LoopBackend(FileBackend(users))
        self._issuer = issuer
        self._who = who
        self._base_url = base_url

    async def create(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:create_project")
        self._shown.check_writable()
        asked = await read_member(request, "project")
        name = string(asked, "name")
        check_domain(string(asked, "domain_id", DEFAULT_ID))
        description = string(asked, "description", "") if asked.get("description") else ""
        enabled = flag(asked, "enabled", True)
        made = await asyncio.to_thread(self._users.create_project, name, description, enabled)
        return web.json_response({"project": self.body(request, made)}, status=201)

    async def index(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:list_projects")
        query = request.query
        found = [self.body(request, p) for p in self._shown.projects()]
        found = [p for p in found if matches(p, query)
                 and query.get("domain_id", DEFAULT_ID) == DEFAULT_ID
                 and query.get("parent_id", DEFAULT_ID) == DEFAULT_ID]
        return collection(request, self._base_url(request), PATH, "projects", found)

    async def show(self, request: web.Request) -> web.StreamResponse:
        ident = request.match_info["id"]
        caller = await self._who(request)
        admin_or(caller, "identity:get_project", caller.project == ident)
        return web.json_response({"project": self.body(request, self.find(ident))})

    async def delete(self, request: web.Request) -> web.StreamResponse:
        admin_only(await self._who(request), "identity:delete_project")
        self._shown.check_writable()
        await asyncio.to_thread(self._delete, request.match_info["id"])
        return web.Response(status=204)

    def _delete(self, ident: str) -> None:
        """Its tokens are ended before it goes: never a moment the other way round."""
        self.find(ident)
        self._issuer.end_tokens(project_subject(ident))
        self._users.delete_project(ident)

    def find(self, ident: str) -> Project:
        """The project of id `ident`; UnknownProject (Keystone's 404) otherwise."""
        found = self._shown.project_by_id(ident)
        if found is None:
            raise UnknownProject(f"Could not find project: {ident[:64]}.")
        return found

    def body(self, request: web.Request, project: Project) -> dict[str, Any]:
        return project_body(self._base_url(request), project)


def project_body(base: str, project: Project) -> dict[str, Any]:
    """`project` as Keystone writes one (`base`: the API's URL)."""
    return {"id": project.id, "name": project.name, "domain_id": DEFAULT_ID,
            "description": project.description, "enabled": project.enabled,
            "parent_id": DEFAULT_ID, "is_domain": False, "tags": [], "options": {},
            "links": {"self": f"{base}{PATH}/{project.id}"}}


def check_domain(domain_id: str) -> None:
    """DomainNotFound for any domain but Default."""
    if domain_id != DEFAULT_ID:
        raise DomainNotFound(f"Could not find domain: {domain_id[:64]}.")
