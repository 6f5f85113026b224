"""The engine over HTTP: SSO endpoints, token checks, routing of API requests to the state,
and ``FakeEngine``, which serves all of it from a background thread.

Routes map a path below the API root to a function returning a ``Reply``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from virt.fake_ovirt.entities import EngineFault, HostUsage, NotFound, RecordedRequest
from virt.fake_ovirt.search import search_vms
from virt.fake_ovirt.state import ACTIONS, EngineState
from virt.fake_ovirt.xml import (
    API,
    action_xml,
    api_xml,
    child_text,
    cluster_xml,
    fault_xml,
    host_xml,
    parse_xml,
    statistics_xml,
    template_xml,
    vm_spec,
    vm_xml,
)

SSO_TOKEN = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT = "/ovirt-engine/services/sso-logout"
XML = "application/xml"
JSON = "application/json"
_CORRELATION_ID = re.compile(r"[0-9A-Za-z_-]{1,36}")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = XML
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    state: EngineState
    args: tuple[str, ...]  # the route's regex groups
    query: Mapping[str, str]
    body: bytes
    base_url: str  # scheme://host:port, for Location headers


def xml_reply(root: ET.Element, status: int = 200) -> Reply:
    return Reply(status, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def json_reply(document: Mapping[str, Any], status: int = 200) -> Reply:
    return Reply(status, json.dumps(document).encode(), JSON)


def _collection(tag: str, items: Sequence[ET.Element]) -> Reply:
    root = ET.Element(tag)
    root.extend(items)
    return xml_reply(root)


def _list_hosts(call: Call) -> Reply:
    usages = call.state.usage()
    return _collection("hosts", [host_xml(u, call.state.cluster_id) for u in usages])


def _host_usage(call: Call) -> HostUsage:
    host = call.state.host(call.args[0])
    return next(u for u in call.state.usage() if u.host == host)


def _get_host(call: Call) -> Reply:
    return xml_reply(host_xml(_host_usage(call), call.state.cluster_id))


def _get_cluster(call: Call) -> Reply:
    if call.args[0] != call.state.cluster_id:
        raise NotFound(call.args[0])
    return xml_reply(cluster_xml(call.state.cluster_id))


def _get_template(call: Call) -> Reply:
    template = next((t for t in call.state.templates if t.id == call.args[0]), None)
    if template is None:
        raise NotFound(call.args[0])
    return xml_reply(template_xml(template))


def _list_vms(call: Call) -> Reply:
    limit = call.query.get("max")
    if limit is not None and not limit.lstrip("-").isdigit():
        raise EngineFault(400, f"Value of max is not an integer: {limit!r}")
    size = int(limit) if limit is not None and int(limit) >= 0 else None
    vms = search_vms(call.state, call.query.get("search", ""), size)
    return _collection("vms", [vm_xml(vm, call.state.cluster_id) for vm in vms])


def _add_vm(call: Call) -> Reply:
    vm = call.state.add_vm(vm_spec(parse_xml(call.body, "vm")))
    reply = xml_reply(vm_xml(vm, call.state.cluster_id), 202 if vm.status == "image_locked"
                      else 201)
    reply.headers["Location"] = f"{call.base_url}{API}/vms/{vm.id}"
    return reply


def _vm_action(call: Call) -> Reply:
    vm_id, action = call.args
    body = parse_xml(call.body, "action")
    try:
        call.state.act(vm_id, action, pause=child_text(body, "pause") == "true")
    except EngineFault as fault:
        return xml_reply(action_xml(fault), fault.status)  # the engine wraps action faults
    return xml_reply(action_xml())


def _remove_vm(call: Call) -> Reply:
    call.state.remove_vm(call.args[0])
    return Reply(200)


_Route = Callable[[Call], Reply]
_ROUTES: tuple[tuple[str, re.Pattern[str], _Route], ...] = tuple(
    (method, re.compile(pattern), route) for method, pattern, route in (
        ("GET", "", lambda c: xml_reply(api_xml(c.state))),
        ("GET", "hosts", _list_hosts),
        ("GET", "hosts/([^/]+)", _get_host),
        ("GET", "hosts/([^/]+)/statistics", lambda c: xml_reply(statistics_xml(_host_usage(c)))),
        ("GET", "clusters", lambda c: _collection("clusters", [cluster_xml(c.state.cluster_id)])),
        ("GET", "clusters/([^/]+)", _get_cluster),
        ("GET", "templates", lambda c: _collection(
            "templates", [template_xml(t) for t in c.state.templates])),
        ("GET", "templates/([^/]+)", _get_template),
        ("GET", "vms", _list_vms),
        ("POST", "vms", _add_vm),
        ("GET", "vms/([^/]+)", lambda c: xml_reply(vm_xml(c.state.vm(c.args[0]),
                                                           c.state.cluster_id))),
        ("DELETE", "vms/([^/]+)", _remove_vm),
        ("POST", f"vms/([^/]+)/({'|'.join(ACTIONS)})", _vm_action),
    ))


def route_api(call: Call, method: str, subpath: str) -> Reply:
    """Answer one authenticated API request; ``subpath`` is relative to the API root."""
    allowed = []
    for route_method, pattern, route in _ROUTES:
        match = pattern.fullmatch(subpath)
        if match is None:
            continue
        if route_method == method:
            return route(dataclasses.replace(call, args=match.groups()))
        allowed.append(route_method)
    if allowed:
        return Reply(405, headers={"Allow": ", ".join(allowed)})
    raise NotFound(subpath)


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
                 transition_delay: float = 0.2, request_log: int = 200) -> None:
        self.state = EngineState(hosts=hosts, host_memory_mb=host_memory_mb,
                                 host_cpus=host_cpus, user=user, password=password,
                                 transition_delay=transition_delay, request_log=request_log)
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

