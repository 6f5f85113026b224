"""What a Tempest run found: counts, skip reasons, and failures grouped by cause.

The results are stestr's subunit stream of the last run. A failure's cause is
what an engineer would fix, so that failures of one gap count together:

    404 GET /v2.1/os-keypairs                     an HTTP error: the request it answered
    schema: Additional properties ... at server   a body Tempest's schema refused, and
        (GET /v2.1/servers/{id})                   the request whose body it was
    InvalidCredentials: No credentials with ...   anything else: the exception's line

The request is found in the test's captured log (Tempest logs every request
as `Request (Class:test): STATUS METHOD URL`), or for a class's set-up in
tempest.log by the class's name. Ids and numbers in paths become {id}.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import subunit
import testtools

_REQUEST = re.compile(r"Request \(([^)]*)\): (\d{3}) ([A-Z]+) (\S+)")
_ID = re.compile(r"/(?:[0-9a-fA-F-]{32,36}|req-[0-9a-f-]+|\d+)(?=/|$)")
_ATTRS = re.compile(r"\[[^\]]*\]$")
_CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass) \(([\w.]+)\)$")
_HTTP_ERROR = re.compile(r"tempest\.lib\.exceptions\.(\w+): ")
_SCHEMA = re.compile(r"HTTP response body is invalid \((.*)")
_SCHEMA_AT = re.compile(r"On instance((?:\[[^\]]*\])*)")
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Failure|Credentials|Timeout"
                             r"|Mismatch\w*|exceptions\.\w+)): (.*)")


@dataclass(slots=True)
class Report:
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # test id -> cause
    skipped: dict[str, str] = field(default_factory=dict)  # test id -> reason
    not_started: list[str] = field(default_factory=list)  # listed, never reported

    def failure_causes(self) -> list[tuple[str, int]]:
        return Counter(self.failed.values()).most_common()

    def skip_reasons(self) -> list[tuple[str, int]]:
        return Counter(self.skipped.values()).most_common()

    def examples(self, cause: str, most: int = 2) -> list[str]:
        return [t for t, c in self.failed.items() if c == cause][:most]


def read(subunit_bytes: bytes, listed: Iterable[str], tempest_log: Path) -> Report:
    """The report of a run from its subunit stream; `listed`: the tests it was to run."""
    requests = _log_requests(tempest_log)
    report = Report()
    for test in _tests(subunit_bytes):
        name, status = _ATTRS.sub("", test["id"]), test["status"]
        if status in ("success", "xfail"):
            report.passed.append(name)
        elif status == "skip":
            report.skipped[name] = _text(test, "reason").strip() or "(no reason given)"
        elif status in ("fail", "uxsuccess"):
            report.failed[name] = cause(_text(test, "traceback"),
                                        _requests_of(name, test, requests))
    seen = {*report.passed, *report.failed, *report.skipped}
    report.not_started = sorted({_ATTRS.sub("", t) for t in listed} - seen)
    return report


def _tests(data: bytes) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stream = subunit.ByteStreamToStreamResult(io.BytesIO(data), non_subunit_name="stdout")
    result = testtools.StreamToDict(found.append)
    result.startTestRun()
    try:
        stream.run(result)
    finally:
        result.stopTestRun()
    return [t for t in found if t["id"] and t["status"] != "exists"]


def _text(test: dict[str, Any], detail: str) -> str:
    content = test["details"].get(detail)
    return content.as_text() if content is not None else ""


def _log_requests(path: Path) -> dict[str, list[tuple[str, str, str]]]:
    """tempest.log's requests by the caller Tempest named (Class:method)."""
    by_caller: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    if path.exists():
        with path.open(errors="replace") as lines:
            for line in lines:
                match = _REQUEST.search(line)
                if match:
                    caller, status, method, url = match.groups()
                    by_caller[caller].append((status, method, url))
    return by_caller


def _requests_of(name: str, test: dict[str, Any],
                 logged: dict[str, list[tuple[str, str, str]]]) -> list[tuple[str, str, str]]:
    """The requests a test made: from its captured log, or for a class's
    set-up (no captured log) from tempest.log by the class's name."""
    captured = [m.groups()[1:] for m in _REQUEST.finditer(_text(test, "pythonlogging:''"))]
    if captured:
        return captured  # type: ignore[return-value]
    fixture = _CLASS_FIXTURE.match(name)
    owner = (fixture.group(2) if fixture else name.rsplit(".", 1)[0]).rsplit(".", 1)[-1]
    method = "" if fixture else name.rsplit(".", 1)[-1]
    return [r for caller, rs in logged.items() if caller.startswith(f"{owner}:")
            and (not method or caller == f"{owner}:{method}") for r in rs]


def cause(traceback: str, requests: list[tuple[str, str, str]]) -> str:
    """What a failure comes down to (see the module's docstring)."""
    schema = _SCHEMA.search(traceback)
    if schema:
        where = _SCHEMA_AT.search(traceback)
        path = re.sub(r"\[\d+\]", "[*]", where.group(1)) if where else ""  # any item
        at = f" at {path}" if path else ""
        last = f" ({request_text(requests[-1])})" if requests else ""
        return f"schema: {_squash(schema.group(1))[:160]}{at}{last}"
    if _HTTP_ERROR.search(traceback):
        errors = [r for r in requests if r[0] >= "400"]
        if errors:
            return f"{errors[-1][0]} {request_text(errors[-1])}"
    return _last_exception(traceback)


def request_text(request: tuple[str, str, str]) -> str:
    """`METHOD /path` with ids as {id}, without the host or the query."""
    _, method, url = request
    path = re.sub(r"^\w+://[^/]+", "", url).split("?", 1)[0]
    path = re.sub(r"/tempest-[\w-]+", "/{project}", path)  # the accounts' projects
    return f"{method} {_ID.sub('/{id}', _ID.sub('/{id}', path))}"


def _last_exception(traceback: str) -> str:
    """The traceback's last `Type: message` line (the type without its module),
    ids and numbers blurred."""
    lines = [line.strip() for line in traceback.splitlines() if line.strip()]
    for n in range(len(lines) - 1, -1, -1):
        match = _EXCEPTION_LINE.match(lines[n])
        if match:
            details = lines[n + 1] if n + 1 < len(lines) else ""  # Tempest's "Details: ..."
            text = f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"
            if details.startswith("Details:"):
                text += f" ({details[8:].strip()})"
            return _blur(text)[:200]
    return _blur(lines[-1])[:200] if lines else "(no traceback)"


def _blur(text: str) -> str:
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", text)
    text = re.sub(r"\b[0-9a-f]{32}\b", "{id}", text)
    return re.sub(r"\b\d{4,}\b", "N", text)  # ports, times; small counts stay


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.split("\n\nFailed validating")[0]).strip()
