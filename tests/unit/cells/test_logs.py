"""Tests for cells.observability.logs: each record carries its call's request id."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest

from cells.observability import logs
from model.context import REQUEST_ID


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_records_carry_the_cell_and_each_tasks_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("INFO", "json", cell="top")
    log = logging.getLogger("cells.test")

    async def serve(request_id: str) -> None:
        REQUEST_ID.set(request_id)  # as the servicer does, in the call's own task
        await asyncio.sleep(0)
        log.info("routed %s", request_id)

    async def main() -> None:
        await asyncio.gather(serve("req-1"), serve("req-2"))

    asyncio.run(main())
    log.warning("outside any call")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    by_message = {entry["message"]: entry for entry in lines}
    assert by_message["routed req-1"]["request_id"] == "req-1"
    assert by_message["routed req-2"]["request_id"] == "req-2"
    assert by_message["outside any call"]["request_id"] == "-"
    assert {entry["cell"] for entry in lines} == {"top"}
    assert by_message["outside any call"]["level"] == "WARNING"


def test_text_records_show_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "text")
    token = REQUEST_ID.set("abc123")
    try:
        logging.getLogger("cells.test").info("hello")
    finally:
        REQUEST_ID.reset(token)
    assert "INFO cells.test [abc123]: hello" in capsys.readouterr().err
