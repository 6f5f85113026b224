"""Scheduler hints as a request gives them: the one reading for every handler.

A hint's value is a string or a list of strings (Nova's `os:scheduler_hints`
allows both; a list becomes one comma-separated value, as bestmatch reads
it). At most MAX_HINTS hints, each name and value at most MAX_TEXT
characters; anything else is a 400 saying what to fix.
"""

from __future__ import annotations

from typing import Any

from api.errors import BadRequest

MAX_HINTS = 32
MAX_TEXT = 255


def scheduler_hints(raw: Any, field: str = "hints") -> dict[str, str]:
    """The hints of `raw` (the request's `field`), names to values."""
    if not isinstance(raw, dict):
        raise BadRequest(f'{field} must be an object of strings, as'
                         ' {"availability_zone": "z1"}.')
    if len(raw) > MAX_HINTS:
        raise BadRequest(f"At most {MAX_HINTS} hints; {len(raw)} were given.")
    hints = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        joined = ",".join(v for v in values if isinstance(v, str))
        if (not key or len(key) > MAX_TEXT or not all(isinstance(v, str) for v in values)
                or len(joined) > MAX_TEXT):
            raise BadRequest(f"Scheduler hint {str(key)[:64]} must be a string or a list of"
                             f" strings of at most {MAX_TEXT} characters, with a name.")
        hints[str(key)] = joined
    return hints
