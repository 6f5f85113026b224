"""The engine over HTTP: SSO endpoints, token checks and the routing of each request (SSO,
API or unknown), the threaded server, and ``FakeEngine``, which serves it all from a
background thread.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from virt.fake_ovirt.entities import EngineFault, HostUsage, NotFound, RecordedRequest
from virt.fake_ovirt.routes import Call, Reply, json_reply, route_api, xml_reply
from virt.fake_ovirt.state import EngineState
from virt.fake_ovirt.xml import API, fault_xml

SSO_TOKEN = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT = "/ovirt-engine/services/sso-logout"
_CORRELATION_ID = re.compile(r"[0-9A-Za-z_-]{1,36}")


def sso_token(state: EngineState, form: Mapping[str, str]) -> Reply:
    if form.get("grant_type") != "password":
        return json_reply({"error_code": "unsupported_grant_type",
                           "error": "Unsupported grant type."}, 400)
    token = state.login(form.get("username", ""), form.get("password", ""))
    if token is None:
        user = form.get("username", "")
        return json_reply({"error_code": "access_denied", "error": (
            f"Cannot authenticate user '{user}': "
            "The username or password is incorrect.")}, 400)
    return json_reply({"access_token": token, "token_type": "bearer",
                       "scope": form.get("scope", "ovirt-app-api"),
                       "exp": str(int((time.time() + 36000) * 1000))})


def handle(state: EngineState, method: str, path: str, query: Mapping[str, str],
           headers: Mapping[str, str], body: bytes, base_url: str) -> Reply:
    """Answer one request of any kind: SSO, API, or unknown."""
    path = path.rstrip("/")
    if method == "POST" and path in (SSO_TOKEN, SSO_LOGOUT):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if path == SSO_LOGOUT:
            state.logout(form.get("token", ""))
            return json_reply({})
        return sso_token(state, form)
    if path != API and not path.startswith(API + "/"):
        return Reply(404)
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not state.token_valid(token):
        return Reply(401, headers={"WWW-Authenticate": "Bearer"})
    correlation_id = headers.get("Correlation-Id")
    try:
        if correlation_id is not None and not _CORRELATION_ID.fullmatch(correlation_id):
            raise EngineFault(400, "[Correlation-Id must be at most 36 characters of "
                                   "letters, digits, '-' and '_'.]")
        call = Call(state, (), query, body, base_url)
        return route_api(call, method, path[len(API):].strip("/"))
    except EngineFault as fault:
        return xml_reply(fault_xml(fault), fault.status)
    except NotFound:
        return Reply(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: EngineState) -> None:
        self.state = state
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue for curl's large posts
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is engine.requests

    def _serve(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        correlation_id = self.headers.get("Correlation-Id")
        state = self.server.state
        state.record(RecordedRequest(method, url.path, url.query, correlation_id))
        host, port = self.server.server_address[:2]
        base_url = f"http://{self.headers.get('Host') or f'{host!s}:{port}'}"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        reply = handle(state, method, url.path, query, _headers(self), body, base_url)
        if correlation_id is not None:
            reply.headers["Correlation-Id"] = correlation_id
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.body:
            self.send_header("Content-Type", f"{reply.content_type};charset=UTF-8")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """Request headers under their canonical spelling (case-insensitive lookups)."""
    wanted = ("Authorization", "Correlation-Id")
    return {name: value for name in wanted if (value := handler.headers.get(name)) is not None}


class FakeEngine:
    """The fake engine in a background thread, with handles on its state for tests."""

    def __init__(self, *, listen: tuple[str, int] = ("127.0.0.1", 0), hosts: int = 2,
                 host_memory_mb: int = 16384, host_cpus: int = 8,
                 user: str = "admin@internal", password: str = "secret",
                 transition_delay: float = 0.2, request_log: int = 200,
                 networks: Sequence[str] = ("ovirtmgmt",)) -> None:
        """``networks``: one network, with one vNIC profile named after it, per name."""
        self.state = EngineState(hosts=hosts, host_memory_mb=host_memory_mb,
                                 host_cpus=host_cpus, user=user, password=password,
                                 transition_delay=transition_delay, request_log=request_log,
                                 networks=networks)
        self._listen = listen
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeEngine:
        """Bind and serve; idempotent."""
        if self._server is None:
            self._server = _Server(self._listen, self.state)
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name="fake-ovirt", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cancel pending transitions; idempotent."""
        self.state.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FakeEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeEngine is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The most recent requests, oldest first (SSO requests included)."""
        return self.state.requests()

    def expire_tokens(self) -> None:
        self.state.expire_tokens()

    def vm_id(self, name: str) -> str:
        return next(vm.id for vm in self.state.vms() if vm.name == name)

    def vm_status(self, vm_id: str) -> str:
        return self.state.vm(vm_id).status

    def vm_history(self, vm_id: str) -> tuple[str, ...]:
        """Every status the VM has passed through since it was added, oldest first."""
        return self.state.vm(vm_id).history

    def vm_host(self, vm_id: str) -> str | None:
        """The id of the host the VM holds, if any."""
        return self.state.vm(vm_id).host_id

    def set_vm_status(self, vm_id: str, status: str) -> None:
        self.state.set_vm_status(vm_id, status)

    def host_usage(self, host_id: str) -> HostUsage:
        return next(u for u in self.state.usage() if u.host.id == host_id)

    def vm_tags(self, vm_id: str) -> tuple[str, ...]:
        """The names of the tags assigned to the VM, in the order they were."""
        return tuple(tag.name for tag in self.state.vm_tags(vm_id))

    def vm_macs(self, vm_id: str) -> tuple[str, ...]:
        """The MAC addresses of the VM's NICs, in the order they were added."""
        return tuple(nic.mac for nic in self.state.vm(vm_id).nics)

    def profile_id(self, network: str) -> str:
        """The id of the vNIC profile of the network named ``network``."""
        net = next(n for n in self.state.networks if n.name == network)
        return next(p.id for p in self.state.profiles if p.network_id == net.id)

