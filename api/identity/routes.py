"""The identity endpoints (a Keystone v3 subset) that OpenStack clients log in with.

    GET  /identity, /identity/          300  the version list (discovery)
    GET  /identity/v3, /identity/v3/    200  the v3 version document
    POST /identity/v3/auth/tokens       201  password login; the token in X-Subject-Token
    GET  /identity/v3/auth/tokens       200  validate X-Subject-Token (HEAD: no body)
    DELETE /identity/v3/auth/tokens     204  revoke X-Subject-Token
    GET  /identity/v3/auth/catalog      200  the catalog of the caller's token
    GET  /identity/v3/domains[/{id}]    200  the one domain (api.identity.domains)
    /identity/v3/projects, users, roles, role_assignments: Keystone's admin API
         (api.identity.project_routes, user_routes, assignment_routes)

All but the login and discovery need a valid X-Auth-Token. Validating and
revoking a token is for an admin or the token's own user (Keystone's
identity:validate_token, identity:revoke_token).

keystoneauth (openstacksdk, python-openstackclient) works against it unchanged
with `auth_url=<base>/identity`, user and project domain "Default".
There is one domain, Default (id "default"). A token is scoped to one
project the user has a role on: the one asked for (by id or by name), or
without a scope their default project (else the first they have a role on).
It carries their highest role there and the roles it implies: admin >
manager > member > reader (api.identity.users.implied).

Logins are checked by the identity backend the API config names
(api.identity.backends: the users file, or LDAP), whose blocking calls (a hash,
a bind, a search the cache lacks) run off the event loop (LoopBackend). The
admin endpoints' reads show that backend's users (with LDAP the directory's,
never the users file), and with LDAP they refuse every write (403: the
directory is read-only here, as with Keystone's LDAP driver). Failed ones are counted per
user name and per source address, and past the limit refused with 429 and
Retry-After (api.identity.throttle); a directory that does not answer is 503.

Every error is Keystone's body, `{"error": {"code", "title", "message"}}`
(`error_response`); a 500's message is logged and not sent. Nothing is stored
per token issued; a revoked one is remembered until it expires
(api.identity.revocation). The app's middleware calls `authenticate_request`
for every other route, and leaves IDENTITY_PREFIX to these handlers (those
that need a token check their own).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from api.body import read_json
from api.identity.access import Who
from api.identity.assignment_routes import ASSIGNMENTS_PATH, ROLES_PATH, AssignmentHandlers
from api.identity.backends.file import FileBackend
from api.identity.backends.loop import LoopBackend
from api.identity.domains import DEFAULT_ID, DEFAULT_NAME, DomainHandlers
from api.identity.domains import PATH as DOMAINS
from api.identity.errors import (
    BadAuthRequest,
    Forbidden,
    IdentityError,
    LoginsThrottled,
    TokenNotFound,
    TooManyLogins,
    Unauthorized,
)
from api.identity.project_routes import PATH as PROJECTS
from api.identity.project_routes import ProjectHandlers
from api.identity.throttle import LoginThrottle
from api.identity.tokens import TokenInfo, TokenIssuer, keystone_time
from api.identity.user_routes import PATH as USERS
from api.identity.user_routes import UserHandlers
from api.identity.users import AUTH_FAILED, Grant, Project, User, UserStore, highest, implied

IDENTITY_PREFIX = "/identity"
MAX_BODY = 64 * 1024  # a login is a few hundred bytes
DEFAULT_DOMAIN = {"id": DEFAULT_ID, "name": DEFAULT_NAME}
INTERNAL_MESSAGE = "An unexpected error prevented the server from fulfilling your request."

# Each login costs one scrypt (16 MiB, ~50 ms of CPU): this many run at once,
# and past LOGINS_WAITING queued, a login is refused at once instead of waiting.
LOGINS_AT_ONCE = 2
LOGINS_WAITING = 64

Catalog = Callable[[web.Request], list[dict[str, Any]]]
BaseUrl = Callable[[web.Request], str]
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_T = TypeVar("_T")
_log = logging.getLogger(__name__)


def add_routes(app: web.Application, users: UserStore, issuer: TokenIssuer,
               catalog: Catalog, base_url: BaseUrl, backend: LoopBackend | None = None,
               throttle: LoginThrottle | None = None) -> None:
    """Mount the identity endpoints on `app`; `catalog(request)` is the service
    catalog put in every token body (Keystone's format: type, name, id, endpoints);
    `base_url(request)` is where clients reach the API (discovery links name it).
    Logins go to `backend` (by default the users file, `users`), counted by
    `throttle` (by default its default limits); the admin endpoints read `backend`
    and write `users`, unless `backend` is read-only (LDAP): then they refuse
    every write (403)."""
    tokens = _AuthTokens(backend or LoopBackend(FileBackend(users)), issuer, catalog,
                         throttle or LoginThrottle())
    discovery = _Discovery(base_url)
    guard = _KeystoneErrors(base_url)

    async def who(request: web.Request) -> TokenInfo:
        return await authenticate_request(request, issuer)

    domains = DomainHandlers(who, base_url)
    auth_catalog = _AuthCatalog(issuer, catalog, base_url)
    for path in (IDENTITY_PREFIX, f"{IDENTITY_PREFIX}/"):
        app.router.add_get(path, guard(discovery.versions))
    for path in (f"{IDENTITY_PREFIX}/v3", f"{IDENTITY_PREFIX}/v3/"):
        app.router.add_get(path, guard(discovery.version))
    path = f"{IDENTITY_PREFIX}/v3/auth/tokens"
    app.router.add_post(path, guard(tokens.create))
    app.router.add_get(path, guard(tokens.validate))  # and HEAD
    app.router.add_delete(path, guard(tokens.revoke))
    app.router.add_get(f"{IDENTITY_PREFIX}/v3/auth/catalog", guard(auth_catalog.show))
    app.router.add_get(DOMAINS, guard(domains.index))
    app.router.add_get(f"{DOMAINS}/{{id}}", guard(domains.show))
    _add_admin_routes(app, users, issuer, who, base_url, guard, tokens.backend)


def _add_admin_routes(app: web.Application, users: UserStore, issuer: TokenIssuer,
                      who: Who, base_url: BaseUrl, guard: _KeystoneErrors,
                      backend: LoopBackend) -> None:
    """Keystone's projects, users, roles and role assignments (admins)."""
    add = app.router
    projects = ProjectHandlers(users, issuer, who, base_url, backend)
    add.add_post(PROJECTS, guard(projects.create))
    add.add_get(PROJECTS, guard(projects.index))
    add.add_get(f"{PROJECTS}/{{id}}", guard(projects.show))
    add.add_delete(f"{PROJECTS}/{{id}}", guard(projects.delete))
    people = UserHandlers(users, issuer, who, base_url, backend)
    add.add_post(USERS, guard(people.create))
    add.add_get(USERS, guard(people.index))
    add.add_get(f"{USERS}/{{id}}", guard(people.show))
    add.add_delete(f"{USERS}/{{id}}", guard(people.delete))
    add.add_get(f"{USERS}/{{id}}/projects", guard(people.projects))
    roles = AssignmentHandlers(users, issuer, who, base_url, backend)
    add.add_get(ROLES_PATH, guard(roles.roles))
    add.add_get(f"{ROLES_PATH}/{{r}}", guard(roles.role))
    add.add_get(ASSIGNMENTS_PATH, guard(roles.assignments))
    grants = f"{PROJECTS}/{{p}}/users/{{u}}/roles"
    add.add_get(grants, guard(roles.given))
    add.add_put(f"{grants}/{{r}}", guard(roles.give))
    add.add_get(f"{grants}/{{r}}", guard(roles.check))  # and HEAD
    add.add_delete(f"{grants}/{{r}}", guard(roles.take))


async def authenticate_request(request: web.Request, issuer: TokenIssuer) -> TokenInfo:
    """What the request's X-Auth-Token says; Unauthorized when it is missing or not
    valid, KeysMissing when there are no keys. Cheap: no I/O most of the time, and
    a directory's answer, when needed, awaited off the event loop."""
    token = request.headers.get("X-Auth-Token", "")
    if not token:
        raise Unauthorized(AUTH_FAILED)
    return await issuer.verified(token)


def error_response(exc: IdentityError, auth_uri: str = "") -> web.Response:
    """Keystone's error body for `exc`; a 500's message (it may name server paths)
    goes to the log instead. A 401 names `auth_uri` in WWW-Authenticate."""
    message = exc.message
    if exc.status == 500:
        _log.error("identity: %s", exc.message)
        message = INTERNAL_MESSAGE
    body = {"error": {"code": exc.status, "title": exc.title, "message": message}}
    headers = ({"WWW-Authenticate": f'Keystone uri="{auth_uri}"'}
               if exc.status == 401 and auth_uri else {})
    if isinstance(exc, LoginsThrottled):
        headers["Retry-After"] = str(exc.retry_after)
    return web.json_response(body, status=exc.status, headers=headers)


class _KeystoneErrors:
    """Wraps a handler so that its identity errors are Keystone's answers."""

    def __init__(self, base_url: BaseUrl) -> None:
        self._base_url = base_url

    def __call__(self, handler: _Handler) -> _Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except IdentityError as exc:
                return error_response(exc, f"{self._base_url(request)}{IDENTITY_PREFIX}")
        return guarded


# ------------------------------------------------------------ discovery


class _Discovery:
    def __init__(self, base_url: BaseUrl) -> None:
        self._base_url = base_url

    async def versions(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"versions": {"values": [self._v3(request)]}}, status=300)

    async def version(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"version": self._v3(request)})

    def _v3(self, request: web.Request) -> dict[str, Any]:
        href = f"{self._base_url(request)}{IDENTITY_PREFIX}/v3/"
        return {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": href}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}],
        }


# ------------------------------------------------------------ tokens


@dataclass(frozen=True, slots=True)
class _PasswordAuth:
    """A parsed login: the user by id or by name (one is None), and the project
    asked for by id or by name (both None when unscoped)."""

    user_id: str | None
    user_name: str | None
    password: str = field(repr=False)
    project_id: str | None = None
    project_name: str | None = None


class _AuthTokens:
    def __init__(self, backend: LoopBackend, issuer: TokenIssuer, catalog: Catalog,
                 throttle: LoginThrottle) -> None:
        self.backend = backend
        self.issuer = issuer
        self.catalog = catalog
        self.throttle = throttle
        self._running = asyncio.Semaphore(LOGINS_AT_ONCE)
        self._waiting = 0

    async def create(self, request: web.Request) -> web.StreamResponse:
        login = _parse_auth(await _read_json(request))
        who, address = login.user_name or f"id:{login.user_id}", request.remote or ""
        self.throttle.check(who, address)
        try:
            user = await self._checked(login)
        except Unauthorized:
            self.throttle.failed(who, address)
            raise
        self.throttle.succeeded(who)
        project, role = self._scope(user, (await self.backend.account(user.id)).grants, login)
        token, info = self.issuer.issue(user, project.id, role)
        body = _token_body(info, project.name, self.catalog(request))
        return web.json_response(body, status=201, headers={"X-Subject-Token": token})

    async def validate(self, request: web.Request) -> web.StreamResponse:
        subject, info = await self._subject(request, "identity:validate_token")
        catalog = None if "nocatalog" in request.query else self.catalog(request)
        body = _token_body(info, _project_name(self.backend, info.project), catalog)
        return web.json_response(body, headers={"X-Subject-Token": subject})

    async def revoke(self, request: web.Request) -> web.StreamResponse:
        _, info = await self._subject(request, "identity:revoke_token")
        self.issuer.revocations.revoke(info.audit_id, info.expires_at)
        _log.info("identity: revoked a token of user %r (audit id %s)",
                  info.user_name, info.audit_id)
        return web.Response(status=204)

    async def _subject(self, request: web.Request, action: str) -> tuple[str, TokenInfo]:
        """X-Subject-Token and what it says, once the caller (X-Auth-Token) may
        do `action` to it: Keystone's policy is an admin, or the token's own
        user. 400 without one, 404 when it is not valid (revoked included)."""
        caller = await authenticate_request(request, self.issuer)
        subject = request.headers.get("X-Subject-Token", "")
        if not subject:
            raise BadAuthRequest("Expecting to find X-Subject-Token in the request headers")
        try:
            info = await self.issuer.verified(subject)
        except Unauthorized as exc:
            raise TokenNotFound(f"Could not find token: {exc.message}") from None
        if not caller.admin and caller.user_id != info.user_id:
            raise Forbidden(f"You are not authorized to perform the requested action: {action}.")
        return subject, info

    def _scope(self, user: User, grants: tuple[Grant, ...],
               login: _PasswordAuth) -> tuple[Project, str]:
        """The project the token is for and the user's highest role there (of
        their `grants`); Unauthorized when they have none there (or it is disabled)."""
        asked = login.project_id or login.project_name
        if asked is None:
            held = [g.project_id for g in grants]
            asked = user.project if user.project in held else next(iter(held), "")
            found = self.backend.project_by_id(asked)
        elif login.project_id is not None:
            found = self.backend.project_by_id(login.project_id)
        else:
            found = self.backend.project_by_name(asked)
        role = highest([g.role for g in grants if found and g.project_id == found.id]
                       ) if found and found.enabled else ""
        if found is None or not role:
            raise Unauthorized(f"User {user.name} has no access to project {asked or '(none)'}")
        return found, role

    async def _checked(self, login: _PasswordAuth) -> User:
        """The user, once the password is checked: a few at a time, off the event
        loop (scrypt is ~50 ms of CPU, a bind a round trip), refused at once when
        too many wait."""
        if self._waiting >= LOGINS_WAITING:
            raise TooManyLogins("Too many logins at once; try again in a moment")
        self._waiting += 1
        try:
            async with self._running:
                return await self._authenticate(login)
        finally:
            self._waiting -= 1

    async def _authenticate(self, login: _PasswordAuth) -> User:
        name = login.user_name or ""
        if login.user_id is not None:
            found = (await self.backend.account(login.user_id)).user
            name = found.name if found else ""  # "" is nobody, and still costs one scrypt
        try:
            return await self.backend.authenticate(name, login.password)
        except Unauthorized:
            _log.info("identity: login refused for user %r",  # quoted: a name is not a log line
                      login.user_name or login.user_id)
            raise


class _AuthCatalog:
    """GET /auth/catalog: the catalog a token of the caller's carries."""

    def __init__(self, issuer: TokenIssuer, catalog: Catalog, base_url: BaseUrl) -> None:
        self._issuer = issuer
        self._catalog = catalog
        self._base_url = base_url

    async def show(self, request: web.Request) -> web.StreamResponse:
        await authenticate_request(request, self._issuer)  # every token is project-scoped
        href = f"{self._base_url(request)}{IDENTITY_PREFIX}/v3/auth/catalog"
        return web.json_response({"catalog": self._catalog(request), "links": {
            "self": href, "previous": None, "next": None}})


def _project_name(backend: LoopBackend, project_id: str) -> str:
    found = backend.project_by_id(project_id)
    return found.name if found else project_id  # deleted: the token fails to verify anyway


def _token_body(info: TokenInfo, project_name: str,
                catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    token: dict[str, Any] = {
        "methods": ["password"],
        "user": {"id": info.user_id, "name": info.user_name, "domain": DEFAULT_DOMAIN,
                 "password_expires_at": None},
        "project": {"id": info.project, "name": project_name, "domain": DEFAULT_DOMAIN},
        "roles": [{"id": r, "name": r} for r in implied(info.role)],
        "issued_at": keystone_time(info.issued_at),
        "expires_at": keystone_time(info.expires_at),
        "audit_ids": [info.audit_id],
        "is_domain": False,
    }
    if catalog is not None:
        token["catalog"] = catalog
    return {"token": token}


# ------------------------------------------------------------ the login body


async def _read_json(request: web.Request) -> Any:
    """The body as JSON (aiohttp refuses one over the app's client_max_size)."""
    if (request.content_length or 0) > MAX_BODY:
        raise BadAuthRequest(f"The request body is larger than {MAX_BODY} bytes")
    try:
        return await read_json(request)
    except ValueError as exc:
        raise BadAuthRequest(f"The request body is {exc}") from None


def _parse_auth(body: Any) -> _PasswordAuth:
    """The login in a Keystone password-auth body; BadAuthRequest when malformed,
    Unauthorized for a domain other than Default."""
    if not isinstance(body, dict):
        raise BadAuthRequest("The request body must be a JSON object")
    auth = _member(body, "auth", "the request body", dict)
    identity = _member(auth, "identity", "auth", dict)
    methods = _member(identity, "methods", "identity", list)
    if methods != ["password"]:
        raise BadAuthRequest("Only the password authentication method is supported here")
    user = _member(_member(identity, "password", "identity", dict), "user", "password", dict)
    secret = _member(user, "password", "user", str)
    user_id, user_name = _id_or_name(user, "user")
    return _PasswordAuth(user_id, user_name, secret, *_scope_project(auth.get("scope")))


def _scope_project(scope: Any) -> tuple[str | None, str | None]:
    if scope is None or scope == "unscoped":  # keystoneauth's unscoped=True sends "unscoped"
        return None, None
    if not isinstance(scope, dict) or not isinstance(scope.get("project"), dict):
        raise BadAuthRequest("Only a project scope is supported here: expecting scope.project")
    return _id_or_name(scope["project"], "project")


def _id_or_name(ref: dict[str, Any], what: str) -> tuple[str | None, str | None]:
    """(id, None) or (None, name) of a user or project reference; a name is checked
    to be in the Default domain (no domain given counts as Default)."""
    if "id" in ref:
        return _member(ref, "id", what, str), None
    name = _member(ref, "name", what, str)  # the message asks for a name: the usual way
    domain = ref.get("domain", DEFAULT_DOMAIN)
    if not isinstance(domain, dict) or not ("id" in domain or "name" in domain):
        raise BadAuthRequest(f"Expecting to find id or name of the domain in {what}")
    if domain.get("id", "default") != "default" or domain.get("name", "Default") != "Default":
        raise Unauthorized("Could not find domain: only the Default domain exists here")
    return None, name


def _member(obj: dict[str, Any], key: str, where: str, kind: type[_T]) -> _T:
    value = obj.get(key)
    if not isinstance(value, kind):
        article = {"dict": "an object", "list": "a list", "str": "a string"}[kind.__name__]
        raise BadAuthRequest(f"Expecting to find {key} in {where}, as {article}")
    return value
