"""What every handler of the API shares, and what it reads off a request.

The app keeps one `ApiState`; its middlewares put the caller (`who`), the
microversion and the request id on each request before a handler runs.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api.body import read_json
from api.compute.views import Names
from api.config import ApiConfig
from api.db.database import ApiDatabase
from api.errors import BadRequest, ItemNotFound
from api.identity.tokens import TokenInfo, TokenIssuer
from api.identity.users import UserStore
from api.microversion import MIN, Version
from api.tree import Tree
from cellwire.calls import Metadata


@dataclass(slots=True)
class ApiState:
    config: ApiConfig
    tree: Tree
    issuer: TokenIssuer
    users: UserStore
    names: Names  # made once from the config, for every server body
    db: ApiDatabase  # the API's own database (api.db)


STATE = web.AppKey("cellrouter_api", ApiState)
WHO = web.RequestKey("cellrouter_who", TokenInfo)
VERSION = web.RequestKey("cellrouter_version", Version)
REQUEST_ID = web.RequestKey("cellrouter_request_id", str)


def state(request: web.Request) -> ApiState:
    return request.app[STATE]


def database(request: web.Request) -> ApiDatabase:
    return request.app[STATE].db


def who(request: web.Request) -> TokenInfo:
    caller: TokenInfo = request[WHO]
    return caller


def version(request: web.Request) -> Version:
    asked: Version = request.get(VERSION, MIN)
    return asked


def request_id(request: web.Request) -> str:
    rid: str = request[REQUEST_ID]
    return rid


def base_url(request: web.Request) -> str:
    """The URL clients reach this API at: the configured one (api.app sets it
    when the config leaves it out), never one a request's Host header makes."""
    return state(request).config.public_url


def metadata(request: web.Request) -> Metadata:
    """The gRPC metadata of a call to the tree on this request's behalf."""
    return state(request).tree.metadata(who(request), request_id(request))


def action_metadata(request: web.Request) -> Metadata:
    """The metadata of one action on this request's behalf. Its request id is
    the request's (for tracing) and a fresh part: the leaf applies an action
    once per request id, and the call keeps it when it is sent again after a
    lost answer; but clients may send one X-OpenStack-Request-ID with many
    requests, and one request may act on several servers."""
    rid = f"{request_id(request)}.{uuidlib.uuid4().hex}"
    return state(request).tree.metadata(who(request), rid)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; 400 for anything else."""
    try:
        body = await read_json(request)
    except ValueError as exc:
        raise BadRequest(f"Malformed request body: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def not_found(kind: str, ident: str) -> ItemNotFound:
    return ItemNotFound(f"{kind} {ident[:64]} could not be found.")
