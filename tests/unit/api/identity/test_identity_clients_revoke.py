"""python-keystoneclient and openstacksdk (both on keystoneauth) against the
identity endpoints over a real port: validating and revoking a token, the
domain, the catalog."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from api.identity.routes import MAX_BODY, add_routes
from api.identity.tokens import TokenIssuer
from api.identity.users import UserStore
from tests.unit.api.identity.helpers import ALICE, ROOT, catalog, serving

v3 = pytest.importorskip("keystoneauth1.identity.v3", reason="keystoneauth1 is not installed")
session_module = pytest.importorskip("keystoneauth1.session")
exceptions = pytest.importorskip("keystoneauth1.exceptions")
ks_client = pytest.importorskip("keystoneclient.v3.client")
openstack = pytest.importorskip("openstack")


def with_identity(request: web.Request) -> list[dict[str, Any]]:
    """The test catalog and this identity endpoint, where the request came."""
    url = f"{request.url.origin()}/identity"
    return [*catalog(request), {"type": "identity", "name": "keystone", "id": "identity",
                                "endpoints": [{"id": f"identity-{i}", "interface": i,
                                               "region": "RegionOne", "region_id": "RegionOne",
                                               "url": url} for i in ("public", "admin")]}]


@pytest.fixture
def app(users: UserStore, issuer: TokenIssuer) -> web.Application:
    made = web.Application(client_max_size=MAX_BODY)
    add_routes(made, users, issuer, with_identity, lambda r: str(r.url.origin()))
    return made


def session(base: str, who: dict[str, str]) -> Any:
    return session_module.Session(auth=v3.Password(
        auth_url=f"{base}/identity", username=who["name"], password=who["password"],
        project_name=who["project"], user_domain_name="Default",
        project_domain_name="Default"))


def test_keystoneclient_validates_and_revokes_a_token(app: web.Application) -> None:
    with serving(app) as base:
        admin = ks_client.Client(session=session(base, ROOT), interface="public")
        token = session(base, ALICE).get_token()
        assert admin.tokens.validate(token).username == "alice"
        admin.tokens.revoke_token(token)
        with pytest.raises(exceptions.NotFound):
            admin.tokens.validate(token)


def test_keystoneclient_shows_and_lists_the_domain(app: web.Application) -> None:
    with serving(app) as base:
        admin = ks_client.Client(session=session(base, ROOT), interface="public")
        assert admin.domains.get("default").name == "Default"
        assert [d.id for d in admin.domains.list()] == ["default"]
        assert admin.domains.list(name="Other") == []
        with pytest.raises(exceptions.NotFound):
            admin.domains.get("other")


def test_openstacksdk_finds_the_domain_and_the_catalog(app: web.Application) -> None:
    with serving(app) as base:
        conn = openstack.connection.Connection(session=session(base, ALICE))
        try:
            assert conn.identity.get_domain("default").is_enabled is True
            answer = conn.identity.get("/auth/catalog")
            assert answer.status_code == 200
            assert {s["type"] for s in answer.json()["catalog"]} == {"compute", "identity"}
        finally:
            conn.close()
