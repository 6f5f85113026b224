"""Tests for api.config's [api] and [tls] rules, and for where the app's links come from."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.config import ApiConfig, ApiTls, load_config
from api.identity.keys import KeyRepository
from api.identity.users import UserStore
from cellops import certs
from model.compute import Resources
from model.config import ConfigError

EVIL = "evil.example:666"  # what a client puts in its Host header


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "api.toml"
    path.write_text(text)
    return path


def api_table(listen: str, public_url: str = "") -> str:
    url = f'public_url = "{public_url}"\n' if public_url else ""
    return f'[api]\nlisten = "{listen}"\ntop = "127.0.0.1:50051"\n{url}'


@pytest.fixture
def pair(tmp_path: Path) -> certs.Issued:
    """A certificate and its key from a CA in tmp_path/certs."""
    certs.init_ca(tmp_path / "certs")
    return certs.issue(tmp_path / "certs", "api.cellrouter")


# ------------------------------------------------------------------ [tls]


def test_tls_files_are_relative_to_the_config_and_make_the_base_https(
        tmp_path: Path, pair: certs.Issued) -> None:
    config = load_config(write(tmp_path, api_table("127.0.0.1:8774")
                               + '[tls]\ncert_file = "certs/api.cellrouter.pem"\n'
                                 'key_file = "certs/api.cellrouter.key"\n'))
    assert config.tls == ApiTls(pair.cert, pair.key)
    assert config.base_url() == "https://127.0.0.1:8774"
    context = config.tls.server_context()
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


def test_without_tls_the_base_is_http(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, api_table("127.0.0.1:8774")))
    assert config.tls is None and config.base_url() == "http://127.0.0.1:8774"
    assert config.base_url(port=4321) == "http://127.0.0.1:4321"  # the port bound, for 0


@pytest.mark.parametrize(("table", "says"), [
    ('cert_file = "certs/api.cellrouter.pem"\n', "missing: key_file"),
    ('key_file = "certs/api.cellrouter.key"\n', "missing: cert_file"),
    ('cert_file = ""\nkey_file = "certs/api.cellrouter.key"\n', "missing: cert_file"),
    ("", "missing: cert_file, key_file"),
    ('cert_file = "certs/api.cellrouter.pem"\nkey_file = "certs/api.cellrouter.key"\n'
     'ca_file = "certs/ca.pem"\n', "unknown: ca_file"),
], ids=["no-key", "no-cert", "empty-cert", "empty-table", "unknown-key"])
def test_tls_needs_both_files_and_nothing_else(
        tmp_path: Path, pair: certs.Issued, table: str, says: str) -> None:
    path = write(tmp_path, api_table("127.0.0.1:8774") + "[tls]\n" + table)
    with pytest.raises(ConfigError, match=rf"{path}: \[tls\] needs cert_file and key_file"
                                          rf", both \({says}\)"):
        load_config(path)


@pytest.mark.parametrize("missing", ["cert_file", "key_file"])
def test_a_tls_file_that_cannot_be_read_is_named_at_start(
        tmp_path: Path, pair: certs.Issued, missing: str) -> None:
    files = {"cert_file": "certs/api.cellrouter.pem", "key_file": "certs/api.cellrouter.key"}
    files[missing] = "certs/gone.pem"
    path = write(tmp_path, api_table("127.0.0.1:8774") + "[tls]\n"
                 + "".join(f'{k} = "{v}"\n' for k, v in files.items()))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (f"{path}: [tls] {missing} {tmp_path / 'certs/gone.pem'}"
                                 " cannot be read: No such file or directory")


def test_files_that_are_not_a_certificate_and_its_key_are_a_config_error(
        tmp_path: Path, pair: certs.Issued) -> None:
    other = certs.issue(tmp_path / "certs", "other")
    with pytest.raises(ConfigError, match=re.escape(
            f"cert_file {pair.cert} and key_file {other.key} are not a certificate and its key")):
        ApiTls(pair.cert, other.key).server_context()
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'junk.pem'} and key_file")):
        ApiTls(tmp_path / "junk.pem", pair.key).server_context()


# ------------------------------------------------------------ public_url


@pytest.mark.parametrize("listen", [
    "0.0.0.0:8774", ":8774", "10.1.2.3:8774", "[::]:8774", "[2001:db8::1]:8774",
    "api.example.com:8774",
])
def test_public_url_is_required_off_loopback(tmp_path: Path, listen: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, api_table(listen)))
    message = str(raised.value)
    assert f"listen = '{listen}' is not a loopback address, so public_url is required" in message
    assert "Host header" in message  # and why


@pytest.mark.parametrize("listen", ["0.0.0.0:8774", "[::]:8774", "api.example.com:8774"])
def test_public_url_off_loopback_is_the_base(tmp_path: Path, listen: str) -> None:
    config = load_config(write(tmp_path, api_table(listen, "https://cloud.example.com/")))
    assert config.base_url() == config.base_url(port=1) == "https://cloud.example.com"


@pytest.mark.parametrize(("listen", "base"), [
    ("127.0.0.1:8774", "http://127.0.0.1:8774"), ("127.0.0.2:0", "http://127.0.0.2:0"),
    ("[::1]:8774", "http://[::1]:8774"), ("localhost:8774", "http://localhost:8774"),
])
def test_on_loopback_public_url_may_be_left_out(tmp_path: Path, listen: str, base: str) -> None:
    assert load_config(write(tmp_path, api_table(listen))).base_url() == base
    with_url = load_config(write(tmp_path, api_table(listen, "http://api.internal:80")))
    assert with_url.base_url() == "http://api.internal:80"


@pytest.mark.parametrize(("listen", "public_url", "says"), [
    ("127.0.0.1", "", "listen = '127.0.0.1' is not host:port"),
    ("127.0.0.1:http", "", "is not host:port"),
    ("127.0.0.1:8774", "cloud.example.com", "public_url = 'cloud.example.com' is not an http"),
], ids=["no-port", "named-port", "no-scheme"])
def test_a_malformed_listen_or_public_url_is_refused(
        tmp_path: Path, listen: str, public_url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(write(tmp_path, api_table(listen, public_url)))


# -------------------------------------------------- links and the Host header


def links_seen(config: ApiConfig, port: int | None = None) -> list[str]:
    """Every link the app gives a client that says Host: evil.example (a login's
    catalog, discovery documents, a flavor, a 401's WWW-Authenticate)."""
    async def main() -> list[str]:
        app = build_app(config, port=port)
        async with TestClient(TestServer(app)) as client:
            host = {"Host": EVIL}
            login = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "alice", "domain": {"name": "Default"}, "password": "alice-secret"}}},
                "scope": {"project": {"name": "shop", "domain": {"name": "Default"}}}}}
            async with client.post("/identity/v3/auth/tokens", json=login,
                                   headers=host) as made:
                assert made.status == 201
                token, bodies = made.headers["X-Subject-Token"], [await made.json()]
            for path in ("/", "/v2.1/", "/identity", "/identity/v3", "/image/",
                         "/v2.1/flavors/small"):
                async with client.get(path, headers={**host, "X-Auth-Token": token}) as got:
                    bodies.append(await got.json())
            async with client.get("/v2.1/flavors", headers=host) as refused:
                assert refused.status == 401
                bodies.append(refused.headers["WWW-Authenticate"])
        return re.findall(r'https?://[^"\\\s]+', json.dumps(bodies))
    return asyncio.run(main())


@pytest.fixture
def api_files(tmp_path: Path) -> dict[str, Any]:
    UserStore(tmp_path / "users.json").add("alice", "shop", "member", "alice-secret")
    KeyRepository(tmp_path / "keys").init()
    return {"top": "127.0.0.1:1", "users_file": tmp_path / "users.json",
            "keys_dir": tmp_path / "keys", "flavors": {"small": Resources(1, 512, 1)}}


@pytest.mark.parametrize(("config", "port", "base"), [
    ({"listen": "127.0.0.1:8774"}, None, "http://127.0.0.1:8774"),
    ({"listen": "127.0.0.1:0"}, 4321, "http://127.0.0.1:4321"),
    ({"listen": "0.0.0.0:8774", "public_url": "https://cloud.example.com"}, 8774,
     "https://cloud.example.com"),
], ids=["listen", "port-bound", "public-url"])
def test_links_never_come_from_the_host_header(
        api_files: dict[str, Any], config: dict[str, Any], port: int | None, base: str) -> None:
    urls = links_seen(ApiConfig(**api_files, **config), port)
    assert len(urls) >= 10  # the catalog's, the versions', the flavor's, the 401's
    assert all(url.startswith(base + "/") for url in urls), urls
    assert not any("evil" in url for url in urls)
