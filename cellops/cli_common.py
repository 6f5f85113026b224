"""What the `cellrouter` commands that call a cell share: their options, the
client they open, and how they print what comes back (a table, or JSON)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from cellwire.client import CellClient
from model.compute import Instance
from model.config import ConfigError
from model.table import print_table

DEFAULT_CELL = "127.0.0.1:50051"
CLIENT_TIMEOUT = 30.0  # seconds a client command waits for its answer


def client_options(p: argparse.ArgumentParser, after_verb: bool = False) -> None:
    """The options of every client command. They may come before the verb or
    after it; after it, an option left out must not undo one given before, so
    there it has no default (the parser before the verb holds the defaults)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if after_verb else value

    p.add_argument("--cell", default=default(os.environ.get("CELLROUTER_CELL", DEFAULT_CELL)),
                   help="HOST:PORT of the cell to ask (env CELLROUTER_CELL)")
    p.add_argument("--json", action="store_true", default=default(False), help="print JSON")
    # No default: `up` waits longer than a client command when none is given.
    p.add_argument("--timeout", type=float, default=default(None),
                   help=f"seconds (default {CLIENT_TIMEOUT:g})")
    p.add_argument("--token", default=default(os.environ.get("CELLROUTER_TOKEN", "")),
                   help="API token, for a cell with [auth] (env CELLROUTER_TOKEN)")
    p.add_argument("--ca-file", default=default(os.environ.get("CELLROUTER_CA_FILE", "")),
                   help="the deployment CA, for a cell with [tls] (env CELLROUTER_CA_FILE)")
    p.add_argument("--server-name", default=default(""),
                   help="the name the cell's certificate carries, if not the address")


def open_client(args: argparse.Namespace) -> CellClient:
    ca = None
    if args.ca_file:
        try:
            ca = Path(args.ca_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the CA file: {exc}") from None
    timeout = CLIENT_TIMEOUT if args.timeout is None else args.timeout
    return CellClient(args.cell, timeout=timeout, token=args.token, ca=ca,
                      server_name=args.server_name)


def show_instances(args: argparse.Namespace, instances: Sequence[Instance]) -> None:
    if args.json:
        data = [jsonable(i) for i in instances]
        print_json(data[0] if len(data) == 1 and args.command != "list" else data)
        return
    rows = [["UUID", "NAME", "STATE", "CELL", "HOST", "VCPU", "RAM MB", "PROJECT"]]
    rows += [[i.uuid, i.name, i.state.value, i.cell_path, i.host, str(i.flavor.vcpus),
              str(i.flavor.memory_mb), i.project] for i in instances]
    print_table(rows)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {k: jsonable(getattr(obj, k)) for k, f in obj.__dataclass_fields__.items()
                if not f.metadata.get("leaf_only")}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj
