"""The API process: one aiohttp application in front of the top cell.

    /identity/...     Keystone v3 subset (api.identity.routes)
    /, /v2.1/...      Compute v2.1 subset (api.compute)
    /image/...        Image v2 subset (api.image)
    /networking/...   Networking v2.0 subset (api.network, over network/)
    /dashboard/...    the admins' web view of the tree (api.dashboard)
    /hooks/v1/...     web hook subscriptions and deliveries (api.hooks)

Every request goes through `frame`, in steps:
    request id    every answer carries x-openstack-request-id; a client's own
                  `req-<uuid>` is kept (and makes a boot idempotent)
    auth          X-Auth-Token verified (the keys, and the revocations in the
                  API database: any API process can)
    microversion  compute requests get a version; answers echo it
    errors        API errors as Nova writes them; the tree's translated once

Links (the catalog, `self`, `bookmark`, `next`) are made from the config's
base URL only (ApiConfig.base_url: `public_url`, else the listen address),
never from a request's Host header, which a client chooses. With [tls] the
port serves HTTPS only.

aiohttp was chosen over Starlette/uvicorn because it is asyncio itself, with
no ASGI layer between the socket and grpc.aio's client in the same loop, and
it brings its own server: one dependency, and fewer layers per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import socket
import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from api import microversion
from api.compute import (
    actions,
    flavor_manage,
    flavors,
    instance_actions,
    keypairs,
    ports,
    quotas,
    security_group_rules,
    security_groups,
    server_edits,
    server_ips,
    servers,
    versions,
)
from api.compute.aggregates import add_routes as add_aggregate_routes
from api.compute.from_tree import add_routes as add_tree_routes
from api.compute.quota_classes import add_routes as add_quota_class_routes
from api.compute.server_groups import add_routes as add_server_group_routes
from api.compute.views import Names
from api.config import ApiConfig, split_listen
from api.dashboard import events as dashboard_events
from api.dashboard import routes as dashboard
from api.db.database import ApiDatabase
from api.errors import ApiError, Forbidden, Internal, TooLarge, from_cell_error
from api.hooks import routes as hook_routes
from api.hooks import service as hooks
from api.identity import routes as identity
from api.identity.backends import open_backend
from api.identity.errors import IdentityError
from api.identity.keys import KeyRepository
from api.identity.revocation import DatabaseRevocations, StillHeld
from api.identity.throttle import LoginThrottle
from api.identity.tokens import TokenIssuer
from api.identity.users import UserStore
from api.image import routes as image_routes
from api.network import errors as network_errors
from api.network import routes as networking
from api.state import REQUEST_ID, STATE, VERSION, WHO, ApiState, base_url
from api.tree import Tree
from model.errors import CellError
from network.service import NetworkService

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID_HEADER = "X-OpenStack-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Reachable without a token: discovery documents and the login itself.
_OPEN = re.compile(r"^/(identity(/.*)?|image/?|networking/?|v2(\.1)?/?)?$")


@web.middleware
async def frame(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What every request goes through (one middleware: each layer costs a call)."""
    asked = request.headers.get(REQUEST_ID_HEADER, "")
    rid = request[REQUEST_ID] = (asked if _CLIENT_REQUEST_ID.fullmatch(asked)
                                 else f"req-{uuid.uuid4()}")
    version = None
    try:
        if not _OPEN.match(request.path) and not dashboard.open_path(request.path):
            request[WHO] = await identity.authenticate_request(request, request.app[STATE].issuer)
            _readers_only_read(request)
        if not request.path.startswith(("/identity", "/image", networking.PREFIX,
                                        dashboard.PREFIX, hook_routes.PREFIX)):
            version = request[VERSION] = microversion.requested(request.headers)
        response = await handler(request)
    except Exception as exc:
        response = _fault(_api_error(exc, request), request)
    response.headers["x-openstack-request-id"] = rid
    if request.path.startswith("/v2.1"):  # Nova's compute API sends both
        response.headers["x-compute-request-id"] = rid
    if version is not None:
        response.headers.update(microversion.response_headers(version))
    return response


def _readers_only_read(request: web.Request) -> None:
    """403 for a token with the reader role alone, unless it only looks: the
    handlers tell admins from the rest, not readers from members."""
    if request[WHO].role == "reader" and request.method not in ("GET", "HEAD"):
        raise Forbidden(f"Policy doesn't allow {request.method} {request.path[:128]} to be"
                        " performed: the reader role may only look.")


def _api_error(exc: Exception, request: web.Request) -> ApiError:
    """The one translation of whatever a request failed with."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, CellError):
        return from_cell_error(exc)
    if isinstance(exc, IdentityError):
        return _as_api_error(exc)
    if isinstance(exc, web.HTTPException) and exc.status >= 400:  # aiohttp's: no route...
        return _http_error(exc)
    log.exception("request %s %s failed", request.method, request.path)
    return Internal("Unexpected API Error. The API's log has the details.")


def _fault(exc: ApiError, request: web.Request) -> web.Response:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Keystone uri="{base_url(request)}/identity"'
    if exc.status == 401 or request.path.startswith("/identity"):  # as keystone writes them
        title = HTTPStatus(exc.status).phrase
        body: Any = {"error": {"code": exc.status, "title": title, "message": exc.message}}
    else:
        body = (network_errors.body(exc.status, exc.message)
                if request.path.startswith(networking.PREFIX) else exc.body())
    return web.json_response(body, status=exc.status, headers=headers)


def _as_api_error(exc: IdentityError) -> ApiError:
    if exc.status == 500:  # the message names server paths: for the log, not the client
        log.error("identity: %s", exc.message)
        return Internal("The API cannot check tokens now. The API's log has the details.")
    error = ApiError(exc.message)
    error.status, error.fault = exc.status, exc.title
    return error


def _http_error(exc: web.HTTPException) -> ApiError:
    if exc.status == 413:
        return TooLarge(f"The request body is over the limit: {exc.text or exc.reason}")
    error = ApiError(exc.reason if exc.status != 404 else "The resource could not be found.")
    error.status = exc.status
    error.fault = {404: "itemNotFound", 405: "badMethod", 413: "overLimit"}.get(
        exc.status, "badRequest")
    return error


def build_app(config: ApiConfig, tree: Tree | None = None,
              port: int | None = None) -> web.Application:
    """The application; `tree` is made from the config unless given. Its links
    name `config.base_url(port)`, whatever a request's Host header says
    (`port`: the one bound, when listen asks for any)."""
    config = dataclasses.replace(config, public_url=config.base_url(port))
    app = web.Application(middlewares=[frame],
                          client_max_size=config.max_body)
    keys = KeyRepository(config.keys_dir)
    users = UserStore(config.users_file)
    db = ApiDatabase.open(config.database)
    people = open_backend(config.identity, users)  # the users file, or LDAP
    issuer = TokenIssuer(keys, config.token_ttl, revocations=DatabaseRevocations(db.engine),
                         access=StillHeld(people) if people.external else None)
    app[STATE] = ApiState(config, tree or Tree(config), issuer,
                          users, Names.of(config.flavors, config.images),
                          db=db)
    limits = config.identity
    identity.add_routes(app, users, app[STATE].issuer, catalog, base_url, people, LoginThrottle(
        limits.failed_logins_per_user, limits.failed_logins_per_address,
        limits.lockout_seconds))
    _compute_routes(app)
    add_tree_routes(app)
    image_routes.setup(app)
    networking.add_routes(app, NetworkService.open(config.network_database, config.network))
    ports.follow(app)  # a port turns ACTIVE once its network agent wired it
    dashboard.add_routes(app)
    hooks.setup(app, config, db.engine)  # the bus followed, when [notifications] says
    hook_routes.add_routes(app)
    dashboard_events.add_routes(app)
    app.on_cleanup.append(_close_tree)
    app.on_cleanup.append(_close_db)
    return app


def _compute_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/", versions.root)
    add.add_get("/v2.1", versions.v21)
    add.add_get("/v2.1/", versions.v21)
    add.add_get("/v2", versions.v20)
    add.add_get("/v2/", versions.v20)
    add.add_get("/v2.1/servers", servers.index)
    add.add_get("/v2.1/servers/detail", servers.detail)
    add.add_post("/v2.1/servers", servers.create)
    add.add_get("/v2.1/servers/{id}", servers.show)
    add.add_delete("/v2.1/servers/{id}", servers.delete)
    add.add_post("/v2.1/servers/{id}/action", actions.act)
    server_edits.add_routes(app)
    instance_actions.add_routes(app)
    server_ips.add_routes(app)
    security_groups.add_routes(app)  # Nova's proxy of the network service's groups
    security_group_rules.add_routes(app)
    add.add_get("/v2.1/flavors", flavors.index)
    add.add_get("/v2.1/flavors/detail", flavors.detail)
    add.add_get("/v2.1/flavors/{id}", flavors.show)
    _api_db_routes(app)


def _api_db_routes(app: web.Application) -> None:
    """The resources kept in the API's own database (api.db)."""
    add = app.router
    add.add_get("/v2.1/os-keypairs", keypairs.index)
    add.add_post("/v2.1/os-keypairs", keypairs.create)
    add.add_get("/v2.1/os-keypairs/{name}", keypairs.show)
    add.add_delete("/v2.1/os-keypairs/{name}", keypairs.delete)
    add.add_get("/v2.1/limits", quotas.limits)
    add.add_get("/v2.1/os-quota-sets/{project}", quotas.show)
    add.add_put("/v2.1/os-quota-sets/{project}", quotas.update)
    add.add_delete("/v2.1/os-quota-sets/{project}", quotas.reset)
    add.add_get("/v2.1/os-quota-sets/{project}/defaults", quotas.defaults)
    add.add_get("/v2.1/os-quota-sets/{project}/detail", quotas.detail)
    add_quota_class_routes(app)
    add_aggregate_routes(app)
    add_server_group_routes(app)
    add.add_post("/v2.1/flavors", flavor_manage.create)
    add.add_put("/v2.1/flavors/{id}", flavor_manage.update)
    add.add_delete("/v2.1/flavors/{id}", flavor_manage.delete)
    add.add_post("/v2.1/flavors/{id}/action", flavor_manage.action)
    add.add_get("/v2.1/flavors/{id}/os-flavor-access", flavor_manage.access)
    add.add_get("/v2.1/flavors/{id}/os-extra_specs", flavor_manage.extra_specs)
    add.add_post("/v2.1/flavors/{id}/os-extra_specs", flavor_manage.set_extra_specs)
    add.add_get("/v2.1/flavors/{id}/os-extra_specs/{key}", flavor_manage.extra_spec)
    add.add_put("/v2.1/flavors/{id}/os-extra_specs/{key}", flavor_manage.set_extra_spec)
    add.add_delete("/v2.1/flavors/{id}/os-extra_specs/{key}", flavor_manage.unset_extra_spec)


def catalog(request: web.Request) -> list[dict[str, Any]]:
    """The service catalog a token carries: compute, image, network and identity, all here."""
    base, region = base_url(request), request.app[STATE].config.region
    return [_service("compute", "nova", f"{base}/v2.1", region),
            _service("image", "glance", f"{base}/image", region),
            _service("network", "neutron", f"{base}{networking.PREFIX}", region),
            _service("identity", "keystone", f"{base}/identity", region)]


def _service(kind: str, name: str, url: str, region: str) -> dict[str, Any]:
    endpoints = [{"id": f"{name}-{interface}", "interface": interface, "region": region,
                  "region_id": region, "url": url} for interface in ("public", "internal", "admin")]
    return {"type": kind, "name": name, "id": name, "endpoints": endpoints}


async def _close_tree(app: web.Application) -> None:
    await app[STATE].tree.close()


async def _close_db(app: web.Application) -> None:
    app[STATE].db.close()


async def serve(config: ApiConfig, ready: Callable[[str], None] = lambda _: None) -> None:
    """Serve until cancelled; `ready` gets the URL once listening. ConfigError
    when [tls]'s files are not a certificate and its key."""
    context = config.tls.server_context() if config.tls is not None else None
    host, port = split_listen(config.listen)
    # Bound before the app is made, so that its links name the port bound
    # (listen may ask for any) from the first request on.
    sock = _bind(host.strip("[]"), port)  # [::1]:8774 too
    port = sock.getsockname()[1]
    runner = web.AppRunner(build_app(config, port=port), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=context).start()
    ready(f"{config.scheme}://{host}:{port}")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket at host:port ("" for every interface)."""
    family, _, _, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    return socket.create_server(address[:2], family=family)
