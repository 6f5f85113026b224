"""keystoneauth, the library under openstacksdk and python-openstackclient, logs in
unchanged: discovery from /identity, password auth, and the service catalog."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp import web

from api.identity.tokens import TokenIssuer
from tests.unit.api.identity.helpers import ALICE, COMPUTE_URL, serving

v3 = pytest.importorskip("keystoneauth1.identity.v3", reason="keystoneauth1 is not installed")
session_module = pytest.importorskip("keystoneauth1.session")
exceptions = pytest.importorskip("keystoneauth1.exceptions")


def password(base: str, secret: str = ALICE["password"]) -> object:
    return v3.Password(auth_url=f"{base}/identity", username="alice", password=secret,
                       project_name="acme", user_domain_name="Default",
                       project_domain_name="Default")


def test_keystoneauth_logs_in_and_finds_the_compute_endpoint(
        make_app: Callable[[], web.Application], issuer: TokenIssuer) -> None:
    with serving(make_app()) as base:
        sess = session_module.Session(auth=password(base))
        token = sess.get_token()
        assert issuer.verify(token).user_name == "alice"
        assert sess.get_endpoint(service_type="compute", interface="public") == COMPUTE_URL
        assert sess.get_project_id() == "acme"


def test_keystoneauth_reports_a_wrong_password(
        make_app: Callable[[], web.Application]) -> None:
    with serving(make_app()) as base:
        sess = session_module.Session(auth=password(base, "wrong"))
        with pytest.raises(exceptions.Unauthorized):
            sess.get_token()
