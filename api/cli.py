"""`cellrouter api --config FILE` runs the API process; users and keys are managed
by `cellrouter users ...` and `cellrouter api-keys ...` (api.identity.cli), web
hook subscriptions by `cellrouter hooks ...` (api.hooks.cli)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from api.hooks.cli import add_parsers as add_hooks_parsers
from api.identity.cli import add_parsers as add_identity_parsers


def add_parsers(sub: Any) -> None:
    s = sub.add_parser("api", help="serve the OpenStack Compute, Image and Identity APIs"
                                   " in front of a tree")
    s.add_argument("--config", required=True, help="the API's TOML config")
    s.set_defaults(func=cmd_api)
    add_identity_parsers(sub)
    add_hooks_parsers(sub)


def cmd_api(args: argparse.Namespace) -> int:
    from api.app import serve
    from api.config import load_config
    from cellwire import eventloop

    config = load_config(Path(args.config))

    async def run() -> None:
        task = asyncio.create_task(serve(config, lambda url: print(f"api: {url}", flush=True)))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    eventloop.run(run())
    return 0
