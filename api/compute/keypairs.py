"""Keypairs, per user, as Nova's os-keypairs has them.

    GET    /v2.1/os-keypairs            2.35: limit, marker (a name)
    POST   /v2.1/os-keypairs            generated (before 2.92) or imported
    GET    /v2.1/os-keypairs/{name}
    DELETE /v2.1/os-keypairs/{name}

By microversion: 2.2 a type (ssh, x509), create 201 and delete 204 instead of
200 and 202; 2.10 admins name another user (`user_id`, in the body or the
query); 2.35 paging; 2.92 a public key is required and names may carry `@`
and `.`. A user's keypair count is held to their project's key_pairs quota.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api.compute import keygen
from api.compute.views import stamp
from api.db.keypairs import Keypair, KeypairExists, KeypairQuotaExceeded
from api.errors import BadRequest, Conflict, Forbidden, ItemNotFound
from api.microversion import Version
from api.state import base_url, database, json_body, version, who

KEYPAIR_TYPE = Version(2, 2)          # a type (ssh, x509); create 201, delete 204
KEYPAIR_USER = Version(2, 10)         # admins name a keypair's user_id
KEYPAIR_PAGES = Version(2, 35)        # lists page by limit and marker
KEYPAIR_IMPORT_ONLY = Version(2, 92)  # imported, never generated; names may have @ and .
_NAME = re.compile(r"[a-zA-Z0-9 _-]{1,255}")
_NAME_292 = re.compile(r"[a-zA-Z0-9 _@.-]{1,255}")
_DIGITS = re.compile(r"[0-9]{1,9}")


def _user(request: web.Request, asked: Any = None) -> str:
    """Whose keypairs: the caller's, or (admins, 2.10) the one named."""
    caller = who(request)
    asked = asked or request.query.get("user_id")
    if not asked or version(request) < KEYPAIR_USER:
        return caller.user_id
    if not isinstance(asked, str):
        raise BadRequest("Invalid input for field/attribute user_id: it must be a string.")
    if asked != caller.user_id and not caller.admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-keypairs to be performed.")
    return asked


def _typed(request: web.Request, body: dict[str, Any], keypair: Keypair) -> dict[str, Any]:
    if version(request) >= KEYPAIR_TYPE:
        body["type"] = keypair.type
    return body


async def index(request: web.Request) -> web.Response:
    limit, marker = None, request.query.get("marker", "")
    if version(request) >= KEYPAIR_PAGES:
        text = request.query.get("limit")
        if text is not None and not _DIGITS.fullmatch(text):
            raise BadRequest(f"limit must be a non-negative integer, not {text[:32]!r}.")
        limit = int(text) if text is not None else None
        if marker and database(request).keypairs.get(_user(request), marker) is None:
            raise BadRequest(f"marker [{marker[:64]}] not found")
    else:
        marker = ""
    user = _user(request)
    found = database(request).keypairs.page(user, limit, marker)
    body: dict[str, Any] = {"keypairs": [
        {"keypair": _typed(request, {"name": k.name, "public_key": k.public_key,
                                     "fingerprint": k.fingerprint}, k)} for k in found]}
    if limit and len(found) == limit:
        query = {k: v for k, v in request.query.items() if k != "marker"}
        query["marker"] = found[-1].name
        url = request.url.with_query(query)
        body["keypairs_links"] = [{"rel": "next", "href": f"{base_url(request)}{url.path_qs}"}]
    return web.json_response(body)


async def show(request: web.Request) -> web.Response:
    keypair = _get(request, _user(request), request.match_info["name"])
    return web.json_response({"keypair": _typed(request, {
        "name": keypair.name, "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint, "user_id": keypair.user_id, "id": keypair.id,
        "deleted": False, "created_at": _iso(keypair.created_at), "updated_at": None,
        "deleted_at": None}, keypair)})


def _get(request: web.Request, user: str, name: str) -> Keypair:
    keypair = database(request).keypairs.get(user, name)
    if keypair is None:
        raise ItemNotFound(f"Keypair {name[:255]} not found for user {user}")
    return keypair


async def create(request: web.Request) -> web.Response:
    raw = (await json_body(request)).get("keypair")
    if not isinstance(raw, dict):
        raise BadRequest("The request body must have a 'keypair' object.")
    name, kind, public = _name(request, raw.get("name")), _kind(request, raw), raw.get("public_key")
    user = _user(request, raw.get("user_id"))
    private = None
    if public is None:
        if version(request) >= KEYPAIR_IMPORT_ONLY:
            raise BadRequest("Invalid input for field/attribute keypair: 'public_key' is a"
                             " required property")
        private, public = keygen.generate(kind, name)
    elif not isinstance(public, str) or not public.strip():
        raise BadRequest("Keypair data is invalid: public_key must be a non-empty string")
    try:
        print_ = keygen.fingerprint(kind, public)
    except keygen.InvalidKey:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    limit = database(request).quotas.limits(who(request).project)["key_pairs"]
    try:
        keypair = database(request).keypairs.add(user, name, kind, print_, public, limit)
    except KeypairExists:
        raise Conflict(f"Key pair '{name}' already exists.") from None
    except KeypairQuotaExceeded:
        raise Forbidden("Quota exceeded, too many key pairs.") from None
    body = _typed(request, {"name": name, "public_key": public, "fingerprint": print_,
                            "user_id": user}, keypair)
    if private is not None:
        body["private_key"] = private
    status = 201 if version(request) >= KEYPAIR_TYPE else 200
    return web.json_response({"keypair": body}, status=status)


def _name(request: web.Request, name: Any) -> str:
    pattern = _NAME_292 if version(request) >= KEYPAIR_IMPORT_ONLY else _NAME
    if not isinstance(name, str) or not pattern.fullmatch(name) or not name.strip():
        raise BadRequest("Keypair data is invalid: Keypair name contains unsafe characters")
    return name


def _kind(request: web.Request, raw: dict[str, Any]) -> str:
    kind = raw.get("type", keygen.SSH) if version(request) >= KEYPAIR_TYPE else keygen.SSH
    if kind not in (keygen.SSH, keygen.X509):
        raise BadRequest("Invalid input for field/attribute type: it must be 'ssh' or 'x509'.")
    return str(kind)


async def delete(request: web.Request) -> web.Response:
    user, name = _user(request), request.match_info["name"]
    if not database(request).keypairs.remove(user, name):
        raise ItemNotFound(f"Keypair {name[:255]} not found for user {user}")
    return web.Response(status=204 if version(request) >= KEYPAIR_TYPE else 202)


def _iso(when: float) -> str | None:
    return stamp(datetime.fromtimestamp(when, UTC))
