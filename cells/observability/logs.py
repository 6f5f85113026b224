"""Logs that follow a request down the tree.

The gRPC edge sets the request id of the call it serves (`x-request-id`, made
up by the first cell when the client sent none, and passed to every cell
below) in `model.context.REQUEST_ID`; each log record carries it as
`request_id` ("-" outside a call). With
`--log-format json` a record is one JSON object per line:

    {"ts": "...", "level": "INFO", "logger": "routing.locate", "cell": "top",
     "request_id": "5f0c...", "message": "index healed: ... is in top!eu!eu-a"}
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from model.context import REQUEST_ID


class _RequestContext(logging.Filter):
    def __init__(self, cell: str) -> None:
        super().__init__()
        self._cell = cell

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        record.cell = self._cell
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "cell": getattr(record, "cell", ""),
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(level: str, fmt: str = "text", cell: str = "") -> None:
    """Log to stderr at `level`, as text or JSON, each record with its request id."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestContext(cell))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
