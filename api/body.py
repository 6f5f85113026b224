"""Reading a request's JSON body, the one way every handler of the API does it.

aiohttp refuses a body over the app's client_max_size (the config's max_body)
with 413 before any of it is parsed.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


async def read_json(request: web.Request) -> Any:
    """The body parsed as JSON; ValueError with a message a person understands."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not valid JSON: {str(exc)[:200]}") from None
