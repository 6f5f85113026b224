"""openstacksdk and python-keystoneclient make a project and a user, give a role,
and the new user logs in to the new project: Keystone's admin API as clients
call it, over a real port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from api.identity.routes import MAX_BODY, add_routes
from api.identity.tokens import TokenIssuer
from api.identity.users import UserStore
from tests.unit.api.identity.helpers import ROOT, serving

openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")
ks_client = pytest.importorskip("keystoneclient.v3.client",
                                reason="python-keystoneclient is not installed")
v3 = pytest.importorskip("keystoneauth1.identity.v3")
session_module = pytest.importorskip("keystoneauth1.session")
exceptions = pytest.importorskip("keystoneauth1.exceptions")


def catalog(request: web.Request) -> list[dict[str, Any]]:
    """Identity only, where the test server is: the clients' admin calls go there."""
    url = f"{request.url.origin()}/identity"
    return [{"type": "identity", "name": "keystone", "id": "keystone", "endpoints": [
        {"id": f"keystone-{i}", "interface": i, "region": "RegionOne",
         "region_id": "RegionOne", "url": url} for i in ("public", "internal", "admin")]}]


@pytest.fixture
def base(users: UserStore, issuer: TokenIssuer) -> Iterator[str]:
    app = web.Application(client_max_size=MAX_BODY)
    add_routes(app, users, issuer, catalog, lambda r: str(r.url.origin()))
    with serving(app) as url:
        yield url


def password(base: str, name: str, secret: str, project: str) -> Any:
    return v3.Password(auth_url=f"{base}/identity", username=name, password=secret,
                       project_name=project, user_domain_name="Default",
                       project_domain_name="Default")


def test_openstacksdk_makes_a_project_and_a_user_who_logs_in(
        base: str, issuer: TokenIssuer) -> None:
    conn = openstack.connection.Connection(
        session=session_module.Session(auth=password(base, "root", ROOT["password"], "ops")),
        identity_api_version="3", region_name="RegionOne")
    project = conn.identity.create_project(name="lab", domain_id="default")
    user = conn.identity.create_user(name="dave", password="dave-secret",
                                     domain_id="default")
    role = conn.identity.find_role("manager")
    conn.identity.assign_project_role_to_user(project, user, role)
    assert conn.identity.validate_user_has_project_role(project, user, role)
    assert [p.name for p in conn.identity.projects(name="lab")] == ["lab"]
    assert conn.identity.find_user("dave").id == user.id

    sess = session_module.Session(auth=password(base, "dave", "dave-secret", "lab"))
    info = issuer.verify(sess.get_token())
    assert (info.user_id, info.project, info.role) == (user.id, project.id, "manager")

    conn.identity.delete_user(user)
    conn.identity.delete_project(project)
    assert conn.identity.find_project("lab") is None
    with pytest.raises(exceptions.Unauthorized):
        session_module.Session(auth=password(base, "dave", "dave-secret", "lab")).get_token()


def test_keystoneclient_grants_and_revokes(base: str) -> None:
    admin = session_module.Session(auth=password(base, "root", ROOT["password"], "ops"))
    ks = ks_client.Client(session=admin, interface="public")
    project = ks.projects.create("lab", domain="default", description="a lab")
    user = ks.users.create("erin", domain="default", password="erin-secret")
    ks.roles.grant("member", user=user.id, project=project.id)
    assert [r.name for r in ks.roles.list(user=user.id, project=project.id)] == ["member"]
    assert [a.role["id"] for a in ks.role_assignments.list(user=user.id)] == ["member"]

    sess = session_module.Session(auth=password(base, "erin", "erin-secret", "lab"))
    assert sess.get_project_id() == project.id
    ks.roles.revoke("member", user=user.id, project=project.id)
    with pytest.raises(exceptions.Unauthorized):
        session_module.Session(auth=password(base, "erin", "erin-secret", "lab")).get_token()
