"""The Networking API's routes: discovery, extensions, and one handler class
serving each of the collections (api.network's docstring lists them).

Each call of the service runs in a worker thread: a port's address may wait on
a row lock held by another API process (network.ipam_table), and the event
loop must not wait with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiohttp import web
from yarl import URL

from api.body import read_json
from api.identity.tokens import TokenInfo
from api.network import (
    bodies,
    errors,
    router_bodies,
    router_routes,
    router_views,
    security_bodies,
    views,
)
from api.state import WHO, base_url
from network.resources import Caller, Changes, ListQuery
from network.service import NetworkService

PREFIX = "/networking"
V2 = f"{PREFIX}/v2.0"
SERVICE = web.AppKey("cellrouter_network", NetworkService)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Only what is served, so that clients (and Tempest's api_extensions) can trust it.
EXTENSIONS = [
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("standard-attr-timestamp", "Resource timestamps",
     "Adds created_at and updated_at fields to all Neutron resources that have Neutron"
     " standard attributes."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("filter-validation", "Filter parameters validation",
     "Provides validation on filter parameters."),
    ("standard-attr-description", "standard-attr-description",
     "Extension to add descriptions to standard attributes"),
    ("ip-substring-filtering", "IP address substring filtering",
     "Provides IP address substring filtering when listing ports"),
    # Served and kept; no host enforces the rules yet (network.security_groups).
    ("security-group", "security-group", "The security groups extension."),
    # Not `router`: routers are kept as records only (network.routers), and
    # listing it would have clients (and Tempest) expect traffic routed.
]


class Store(Protocol):
    """What the handlers ask of each of the service's stores."""

    def create(self, caller: Caller, spec: Any) -> Any: ...
    def show(self, caller: Caller, ident: str) -> Any: ...
    def list(self, caller: Caller, ask: ListQuery) -> Any: ...
    def update(self, caller: Caller, ident: str, changes: Changes) -> Any: ...
    def delete(self, caller: Caller, ident: str) -> None: ...


@runtime_checkable
class BulkStore(Protocol):
    """A store that makes several at once (Neutron's bulk create): all or none."""

    def create_many(self, caller: Caller, specs: Sequence[Any]) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class Collection:
    """One collection: its keys in bodies, its store, how it reads and writes."""

    key: str  # "network": its bodies are {"network": ...}, {"networks": [...]}
    store: Callable[[NetworkService], Store]
    names: Mapping[str, str]  # Neutron's attributes -> the service's fields
    create_fields: frozenset[str]
    update_fields: frozenset[str]
    spec: Callable[[dict[str, Any]], Any]
    changes: Callable[[dict[str, Any]], Changes]
    view: Callable[[Any, Caller], dict[str, Any]]
    path: str = ""  # the URL's name of the collection, when not `plural`

    @property
    def plural(self) -> str:
        return f"{self.key}s"

    @property
    def route(self) -> str:
        return self.path or self.plural


COLLECTIONS = (
    Collection("network", lambda s: s.networks, bodies.NETWORK_FIELDS, bodies.NETWORK_CREATE,
               bodies.NETWORK_UPDATE, bodies.network_spec, bodies.network_changes,
               views.network_body),
    Collection("subnet", lambda s: s.subnets, bodies.SUBNET_FIELDS, bodies.SUBNET_CREATE,
               bodies.SUBNET_UPDATE, bodies.subnet_spec, bodies.subnet_changes,
               views.subnet_body),
    Collection("port", lambda s: s.ports, bodies.PORT_FIELDS, bodies.PORT_CREATE,
               bodies.PORT_UPDATE, bodies.port_spec, bodies.port_changes, views.port_body),
    Collection("security_group", lambda s: s.security_groups, security_bodies.GROUP_FIELDS,
               security_bodies.GROUP_CREATE, security_bodies.GROUP_UPDATE,
               security_bodies.group_spec, security_bodies.group_changes,
               views.security_group_body, "security-groups"),
    Collection("security_group_rule", lambda s: s.security_group_rules,
               security_bodies.RULE_FIELDS, security_bodies.RULE_CREATE,
               security_bodies.RULE_UPDATE, security_bodies.rule_spec,
               security_bodies.rule_changes, views.rule_body, "security-group-rules"),
    Collection("router", lambda s: s.routers, router_bodies.ROUTER_FIELDS,
               router_bodies.ROUTER_CREATE, router_bodies.ROUTER_UPDATE,
               router_bodies.router_spec, router_bodies.router_changes,
               router_views.router_body),
)


def add_routes(app: web.Application, service: NetworkService) -> None:
    """Mount the Networking API on `app` over `service` (closed with the app)."""
    app[SERVICE] = service
    add = app.router
    for path in (PREFIX, f"{PREFIX}/"):
        add.add_get(path, guarded(versions))
    for path in (V2, f"{V2}/"):
        add.add_get(path, guarded(resources))
    add.add_get(f"{V2}/extensions", guarded(extensions))
    add.add_get(f"{V2}/extensions/{{alias}}", guarded(extension))
    for collection in COLLECTIONS:
        handlers = Handlers(collection)
        base = f"{V2}/{collection.route}"
        add.add_get(base, guarded(handlers.index))
        add.add_post(base, guarded(handlers.create))
        add.add_get(f"{base}/{{id}}", guarded(handlers.show))
        add.add_put(f"{base}/{{id}}", guarded(handlers.update))
        add.add_delete(f"{base}/{{id}}", guarded(handlers.delete))
    router_routes.add_interface_routes(add, f"{V2}/routers", service, guarded)
    app.on_cleanup.append(_close)


def guarded(handler: Handler) -> Handler:
    """`handler` with the service's refusals written as Neutron's error bodies."""
    async def guard(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise  # aiohttp's own (a body over max_body: 413): the app's middleware writes it
        except Exception as exc:  # written out here, each kind in api.network.errors
            return errors.response(exc, f"{request.method} {request.path}")
    return guard


class Handlers:
    """The five operations of one collection."""

    def __init__(self, collection: Collection) -> None:
        self.c = collection

    async def index(self, request: web.Request) -> web.Response:
        caller, fields = _caller(request), request.query.getall("fields", [])
        ask = bodies.list_query(request.query, self.c.names)
        found = await self._call(request, "list", caller, ask)
        body: dict[str, Any] = {self.c.plural: [views.only(self.c.view(r, caller), fields)
                                                for r in found]}
        links = views.page_links(URL(base_url(request) + request.path), request.query,
                                 [r.id for r in found], ask.limit)
        if links:
            body[f"{self.c.plural}_links"] = links
        return web.json_response(body)

    async def show(self, request: web.Request) -> web.Response:
        caller = _caller(request)
        found = await self._call(request, "show", caller, request.match_info["id"])
        fields = request.query.getall("fields", [])
        return web.json_response({self.c.key: views.only(self.c.view(found, caller), fields)})

    async def create(self, request: web.Request) -> web.Response:
        body, caller = await _json(request), _caller(request)
        many = bodies.bulk(body, self.c.plural, self.c.create_fields)
        if many is not None:
            return await self._create_many(request, caller, many)
        fields = bodies.resource(body, self.c.key, self.c.create_fields)
        made = await self._call(request, "create", caller, self.c.spec(fields))
        return web.json_response({self.c.key: self.c.view(made, caller)}, status=201)

    async def _create_many(self, request: web.Request, caller: Caller,
                           many: list[dict[str, Any]]) -> web.Response:
        store = self.c.store(request.app[SERVICE])
        if not isinstance(store, BulkStore):
            raise bodies.bad(f"Bulk create of {self.c.plural} is not supported")
        specs = [self.c.spec(fields) for fields in many]
        made = await asyncio.to_thread(store.create_many, caller, specs)
        return web.json_response({self.c.plural: [self.c.view(m, caller) for m in made]},
                                 status=201)

    async def update(self, request: web.Request) -> web.Response:
        fields = bodies.resource(await _json(request), self.c.key, self.c.update_fields)
        caller = _caller(request)
        changed = await self._call(request, "update", caller, request.match_info["id"],
                                   self.c.changes(fields))
        return web.json_response({self.c.key: self.c.view(changed, caller)})

    async def delete(self, request: web.Request) -> web.Response:
        await self._call(request, "delete", _caller(request), request.match_info["id"])
        return web.Response(status=204)

    async def _call(self, request: web.Request, operation: str, *args: Any) -> Any:
        store = self.c.store(request.app[SERVICE])
        return await asyncio.to_thread(getattr(store, operation), *args)


async def versions(request: web.Request) -> web.Response:
    link = {"rel": "self", "href": f"{base_url(request)}{V2}/"}
    return web.json_response({"versions": [{"id": "v2.0", "status": "CURRENT",
                                            "links": [link]}]})


async def resources(request: web.Request) -> web.Response:
    base = f"{base_url(request)}{V2}"
    return web.json_response({"resources": [
        {"name": c.key, "collection": c.plural,
         "links": [{"rel": "self", "href": f"{base}/{c.route}"}]} for c in COLLECTIONS]})


async def extensions(request: web.Request) -> web.Response:
    del request
    return web.json_response({"extensions": [_extension(*e) for e in EXTENSIONS]})


async def extension(request: web.Request) -> web.Response:
    alias = request.match_info["alias"]
    for entry in EXTENSIONS:
        if entry[0] == alias:
            return web.json_response({"extension": _extension(*entry)})
    return web.json_response(errors.body(404, f"Extension with alias {alias[:64]} does not"
                                              " exist", "ExtensionNotFound"), status=404)


def _extension(alias: str, name: str, description: str) -> dict[str, Any]:
    return {"alias": alias, "name": name, "description": description,
            "updated": "2013-01-01T00:00:00-00:00", "links": []}


def _caller(request: web.Request) -> Caller:
    who: TokenInfo = request[WHO]
    return Caller(who.project, who.admin)


async def _json(request: web.Request) -> Any:
    try:
        return await read_json(request)
    except ValueError as exc:
        raise bodies.bad(f"Malformed request body: {exc}") from None


async def _close(app: web.Application) -> None:
    app[SERVICE].close()
