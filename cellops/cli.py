"""The `cellrouter` command: run cells, start a tree, and drive any cell.

Every client command talks to the cell given by --cell (default: the
CELLROUTER_CELL environment variable, else 127.0.0.1:50051). Output is a
table for people, or JSON with --json. A failed call exits with status 1 and
prints the gRPC status code name and the cell's message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from agents.cli import add_parsers as add_agents_parsers
from api.cli import add_parsers as add_api_parsers
from bestmatch.errors import PluginError
from cellops import boot_many
from cellops.cli_admin import add_parsers as add_admin_parsers
from cellops.progress import BootsProgress, CellsUpProgress, ProgressLine
from cells import config as cell_config
from cells import eventloop
from cells.client import CellClient, boot_spec
from cells.observability import logs
from model.cells import CellKind, CellNode, ListQuery, Placement, Replica
from model.compute import Action, BootSpec, Instance, InstanceState, Port
from model.config import ConfigError
from model.errors import CellError

DEFAULT_CELL = "127.0.0.1:50051"
CLIENT_TIMEOUT = 30.0  # seconds a client command waits for its answer
UP_TIMEOUT = 60.0  # seconds `up` waits for every cell to register
SUPERVISE_EVERY = 0.2  # seconds between `up`'s looks at its processes
SILENT = 5.0  # seconds without a word after which `tree` marks a cell's process silent
ACTIONS = {
    "pause": Action.PAUSE,
    "unpause": Action.UNPAUSE,
    "suspend": Action.SUSPEND,
    "resume": Action.RESUME,
    "stop": Action.STOP,
    "start": Action.START,
    "delete": Action.DELETE,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.configure(args.log_level, args.log_format)
    try:
        result: int = args.func(args)
        return result
    except CellError as exc:
        print(f"cellrouter: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except (ConfigError, PluginError) as exc:
        print(f"cellrouter: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# ------------------------------------------------------------ service


def cmd_serve(args: argparse.Namespace) -> int:
    from cells.server import CellServer

    config = cell_config.load(Path(args.config))
    logs.configure(args.log_level, args.log_format, config.name)

    async def run() -> None:
        server = CellServer(config)
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()

    eventloop.run(run())
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from api.identity.files import write_private
    from cellops.supervise import Supervisor
    from cellops.tree import TreeRunner, load_tree

    spec = load_tree(Path(args.tree))
    runner = TreeRunner(spec, Path(args.state_dir), log_level=args.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    progress = CellsUpProgress([c.name for c in spec.cells], ProgressLine.of(sys.stderr))
    try:
        top = runner.start(timeout=UP_TIMEOUT if args.timeout is None else args.timeout,
                           watch=progress.update)
    finally:
        progress.finish()  # what follows, an error too, starts on a line of its own
    print(f"top: {top}", flush=True)
    if not spec.tls:
        print("insecure: the cells talk plaintext gRPC, without certificates (tree file"
              " says insecure = true)", flush=True)
    else:
        print(f"mutual TLS between cells; clients: --ca-file {runner.certs}/ca.pem", flush=True)
    if spec.open_client_port:
        print(f"warning: the top serves its client port {runner.client_address} to anyone,"
              ' as admin, without tokens (tree file says client_auth = "none")', flush=True)
    # Secrets go to files only this user can read; the output names the files,
    # so that a terminal's scrollback or a log collector never holds them.
    if runner.admin_token:
        token_file = runner.state_dir / "admin-token"
        write_private(token_file, (runner.admin_token + "\n").encode())
        print(f"admin token: in {token_file} (--token \"$(cat {token_file})\")", flush=True)
    if runner.api is not None:
        print(f"api: {runner.api.url}", flush=True)
        print(f"dashboard: {runner.api.url}/dashboard/ (user admin, password in"
              f" {runner.api.directory / 'admin-password'})", flush=True)
        print(f"OpenStack clients: source {runner.api.directory / 'openrc'}", flush=True)
    print(f"{len(spec.cells)} cells up; state and logs in {runner.state_dir}", flush=True)
    print("a process that exits is started again; see them with: cellrouter processes"
          f" --state-dir {runner.state_dir} (or tree --state-dir)", flush=True)
    try:
        supervisor = Supervisor(runner.slots(), runner.state_dir, sys.stdout)
        while not stop.wait(SUPERVISE_EVERY):
            supervisor.tick()
    finally:
        runner.stop()
        print("all cells stopped", flush=True)
    return 0


def cmd_processes(args: argparse.Namespace) -> int:
    """The processes `cellrouter up` keeps running in a state directory."""
    from cellops.supervise import read_status

    processes = read_status(Path(args.state_dir))
    if not processes:
        print(f"no processes: no `cellrouter up` has run in {args.state_dir}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(processes)
        return 0
    rows = [["PROCESS", "KIND", "PID", "STATE", "RESTARTS", "LAST EXIT", "UP FOR"]]
    now = time.time()
    rows += [[p["name"], p["kind"], str(p["pid"]), p["state"], str(p["restarts"]),
              p["last_exit"] or "-", f"{now - p['since']:.0f} s" if p["since"] else "-"]
             for p in processes]
    _print_table(rows)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from bestmatch.plugins import GROUPS, installed

    rows = [["GROUP", "NAME", "PROVIDED BY"]]
    data: dict[str, dict[str, str]] = {}
    for group in GROUPS:
        for name, ep in sorted(installed(group).items()):
            dist = ep.dist.name if ep.dist else "?"
            rows.append([group, name, f"{ep.value} ({dist})"])
            data.setdefault(group, {})[name] = ep.value
    if args.json:
        _print_json(data)
    else:
        _print_table(rows)
    return 0


# ------------------------------------------------------------ client


def _client(args: argparse.Namespace) -> CellClient:
    ca = None
    if args.ca_file:
        try:
            ca = Path(args.ca_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the CA file: {exc}") from None
    timeout = CLIENT_TIMEOUT if args.timeout is None else args.timeout
    return CellClient(args.cell, timeout=timeout, token=args.token, ca=ca,
                      server_name=args.server_name)


def cmd_boot(args: argparse.Namespace) -> int:
    spec = boot_spec(
        args.name, args.vcpus, args.memory_mb, args.disk_gb,
        image=args.image,
        ports=[_port(p) for p in args.port],
        hints=dict(_pair(h) for h in args.hint),
        project=args.project,
        target_cell=args.target_cell,
        request_id=args.request_id,
    )
    if args.count > 1:
        return _boot_many(args, spec)
    with _client(args) as client:
        if args.dry_run:
            _show_placement(args, client.plan(spec))
        else:
            _show_instances(args, [client.boot(spec)])
    return 0


def _boot_many(args: argparse.Namespace, spec: BootSpec) -> int:
    """NAME-1 … NAME-N, a few at a time (cellops.boot_many); 1 if any failed."""
    if args.dry_run or args.port:
        option = "--dry-run plans" if args.dry_run else "--port binds its NIC to"
        print(f"cellrouter: {option} one instance: it cannot go with --count above 1",
              file=sys.stderr)
        return 2
    base = args.request_id or boot_many.new_base()
    specs = boot_many.specs_for(spec, args.count, base)
    if not args.request_id:
        print(boot_many.retry_hint(base, args.count), file=sys.stderr, flush=True)
    progress = BootsProgress(args.count, ProgressLine.of(sys.stderr))
    try:
        with _client(args) as client:
            outcome = boot_many.boot_all(client.boot, specs, progress)
    except KeyboardInterrupt:
        print(f"cellrouter: interrupted; {boot_many.rest_hint(base)}", file=sys.stderr)
        raise
    if args.json:
        _print_json({"request_id_base": base,
                     "instances": [_jsonable(i) for i in outcome.booted],
                     "failures": [_jsonable(f) for f in outcome.failures]})
    else:
        print("\n".join(boot_many.report(outcome, base)))
    return 1 if outcome.failures else 0


def _show_placement(args: argparse.Namespace, placement: Placement) -> None:
    if args.json:
        _print_json(_jsonable(placement))
        return
    rows = [["RANK", "CELL", "HOST"]]
    rows += [[str(n), o.cell_path, o.host or "-"] for n, o in enumerate(placement.ranked, 1)]
    _print_table(rows)
    for line in placement.explanations:
        print(f"  {line}")


def cmd_action(args: argparse.Namespace) -> int:
    action = ACTIONS.get(args.command)
    if args.command == "reboot":
        action = Action.REBOOT_HARD if args.hard else Action.REBOOT
    assert action is not None
    with _client(args) as client:
        _show_instances(args, [client.act(args.uuid, action, wait=args.wait)])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _client(args) as client:
        instance = client.get(args.uuid)
    if args.json:
        _print_json(_jsonable(instance))
    else:
        for key, value in _jsonable(instance).items():
            print(f"{key:>12}  {value}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    query = ListQuery(
        limit=args.limit, project=args.project, name_prefix=args.name_prefix,
        state=InstanceState(args.state.upper()) if args.state else None,
        sort=args.sort, page_token=args.page_token,
    )
    with _client(args) as client:
        page = client.list(query)
    if args.json:
        _print_json({"instances": [_jsonable(i) for i in page.instances],
                     "next_page_token": page.next_page_token,
                     "unreachable_cells": list(page.unreachable_cells)})
        return 0
    _show_instances(args, page.instances)
    for path in page.unreachable_cells:
        print(f"warning: cell {path} did not answer; its instances known to the index are"
              " listed as UNKNOWN", file=sys.stderr)
    if page.next_page_token:
        print(f"more: --page-token {page.next_page_token}")
    return 0


def cmd_locate(args: argparse.Namespace) -> int:
    with _client(args) as client:
        loc = client.locate(args.uuid)
    if args.json:
        _print_json(asdict(loc))
    else:
        print(f"{loc.uuid}  {loc.cell_path}@{loc.host}")
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    from cellops.supervise import read_status

    with _client(args) as client:
        top = client.topology()
    # With the state directory of `cellrouter up`: how often each process was
    # started again, and how it last ended.
    processes = read_status(Path(args.state_dir)) if args.state_dir else []
    if args.json:
        data = _jsonable(top)
        if args.state_dir:
            data["processes"] = processes
        _print_json(data)
        return 0
    rows = [["CELL", "STATE", "KIND", "DRIVER", "HOSTS", "VCPU used/total",
             "RAM MB used/total", "INSTANCES", "FLAVORS THAT FIT", "ACTIONS", "ADDRESS"]]
    _tree_rows(top, "", rows)
    if args.state_dir:
        rows[0].append("RESTARTS")
        for row in rows[1:]:
            row.append(restarts_of(processes, row[0].strip().rpartition("!")[2]))
    _print_table(rows)
    others = [p for p in processes if p["kind"] != "cell"]
    for p in others:
        print(f"{p['name']}: {p['state']}, {_restarts_text([p])}")
    for line in open_port_warnings(top):
        print(line)
    return 0


def open_port_warnings(top: CellNode) -> list[str]:
    """A warning for each cell that serves its client port without tokens."""
    return [f"warning: cell {n.name} serves its client port to anyone, without tokens"
            ' (client_auth = "none")' for n in top.walk() if n.open_client_port]


def restarts_of(processes: Sequence[dict[str, Any]], cell: str) -> str:
    """The restarts of cell `cell`'s processes (NAME, NAME.r2, ...), as `tree` says them."""
    mine = [p for p in processes if p["name"] == f"cell {cell}"
            or p["name"].startswith(f"cell {cell}.r")]
    return _restarts_text(mine) if mine else "-"


def _restarts_text(processes: Sequence[dict[str, Any]]) -> str:
    """"0", or "2 (last: killed by SIGKILL)"."""
    count = sum(int(p["restarts"]) for p in processes)
    last = [p["last_exit"] for p in processes if p["last_exit"]]
    return f"{count} (last: {last[-1]})" if count and last else str(count)


def _where(node: CellNode) -> str:
    """A cell's address, or each of its processes': which is active when some
    stand by, and how long one has been silent."""
    if not node.replicas:
        return node.address
    standbys = any(r.standby for r in node.replicas)

    def one(r: Replica) -> str:
        silent = r.heard_ago >= SILENT
        notes = ["standby"] if r.standby else ["active"] if standbys and not silent else []
        if silent:
            notes.append(f"silent {r.heard_ago:.0f}s")
        return f"{r.address}({', '.join(notes)})" if notes else r.address
    return " ".join(one(r) for r in node.replicas)


def _driver(node: CellNode) -> str:
    """What backs a leaf ("libvirt", "ovirt", "fake", "agents"); "-" for a router,
    "?" for a leaf that has not said (one older than the field)."""
    if node.kind is not CellKind.LEAF:
        return "-"
    return node.driver or "?"


def _actions(capabilities: Sequence[str]) -> str:
    """'all', or which actions the cell's subtree cannot do."""
    missing = sorted({a.value for a in Action} - set(capabilities))
    return "all" if not missing else "no " + ",".join(missing)


def _tree_rows(node: CellNode, indent: str, rows: list[list[str]]) -> None:
    c = node.capacity
    rows.append([
        f"{indent}{node.path}",
        "DOWN" if not node.up else "unreachable" if node.unreachable else "up", node.kind.value,
        _driver(node), f"{c.hosts_up}/{c.hosts}", f"{c.used.vcpus}/{c.total.vcpus}",
        f"{c.used.memory_mb}/{c.total.memory_mb}", str(c.instances),
        " ".join(f"{name}:{n}" for name, n in c.flavor_fits) or "-",
        _actions(node.capabilities), _where(node),
    ])
    for child in node.children:
        _tree_rows(child, indent + "  ", rows)


# ------------------------------------------------------------ output


def _show_instances(args: argparse.Namespace, instances: Sequence[Instance]) -> None:
    if args.json:
        data = [_jsonable(i) for i in instances]
        _print_json(data[0] if len(data) == 1 and args.command != "list" else data)
        return
    rows = [["UUID", "NAME", "STATE", "CELL", "HOST", "VCPU", "RAM MB", "PROJECT"]]
    rows += [[i.uuid, i.name, i.state.value, i.cell_path, i.host, str(i.flavor.vcpus),
              str(i.flavor.memory_mb), i.project] for i in instances]
    _print_table(rows)


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _jsonable(getattr(obj, k)) for k, f in obj.__dataclass_fields__.items()
                if not f.metadata.get("leaf_only")}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def _port(text: str) -> Port:
    parts = text.split(",")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"--port wants NET,MAC[,IP], got {text!r}")
    return Port(*parts)


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--hint wants KEY=VALUE, got {text!r}")
    return key, value


# ------------------------------------------------------------ parser


def _client_options(p: argparse.ArgumentParser, after_verb: bool = False) -> None:
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cellrouter", description=__doc__.split("\n")[0])
    p.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default)")
    p.add_argument("--log-format", default="text", choices=["text", "json"],
                   help="text (default), or one JSON object per line")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run one cell")
    s.add_argument("--config", required=True, help="the cell's TOML config")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("up", help="start a whole tree of cells as processes")
    s.add_argument("tree", help="a tree file, e.g. examples/demo-tree.toml")
    s.add_argument("--state-dir", default="state/tree", help="where configs, databases and "
                   "logs go (default: state/tree)")
    s.add_argument("--timeout", type=float, default=argparse.SUPPRESS,
                   help=f"seconds to wait for every cell to register (default {UP_TIMEOUT:g})")
    s.set_defaults(func=cmd_up)

    s = sub.add_parser("processes", help="the processes `up` keeps running: restarts, last"
                       " exit")
    s.add_argument("--state-dir", default="state/tree", help="the state directory given to"
                   " `up` (default: state/tree)")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    s.set_defaults(func=cmd_processes)

    add_admin_parsers(sub)
    add_api_parsers(sub)
    add_agents_parsers(sub)

    s = sub.add_parser("plugins", help="list installed selectors, filters and weighers")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    s.set_defaults(func=cmd_plugins)

    _client_options(p)  # before the verb ...

    def client_parser(name: str, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text)
        _client_options(c, after_verb=True)  # ... or after it
        return c

    c = client_parser("boot", "boot a new instance")
    c.add_argument("name")
    c.add_argument("--vcpus", type=int, required=True)
    c.add_argument("--memory-mb", type=int, required=True)
    c.add_argument("--disk-gb", type=int, default=0)
    c.add_argument("--image", default="")
    c.add_argument("--port", action="append", default=[], metavar="NET,MAC,IP",
                   help="a pre-bound NIC; repeat for more")
    c.add_argument("--hint", action="append", default=[], metavar="K=V")
    c.add_argument("--project", default="")
    c.add_argument("--target-cell", default="", metavar="PATH")
    c.add_argument("--request-id", default="", help="idempotency key (default: random); with"
                   " --count N, the base of the keys BASE-1 … BASE-N")
    c.add_argument("--count", type=boot_many.parse_count, default=1, metavar="N",
                   help=f"boot N instances, NAME-1 … NAME-N, {boot_many.CONCURRENCY} at a"
                   f" time (1 to {boot_many.MAX_COUNT}; default 1: one, named NAME)")
    c.add_argument("--dry-run", action="store_true",
                   help="show where it would go (chosen, then alternates); build nothing")
    c.set_defaults(func=cmd_boot)

    for name in [*ACTIONS, "reboot"]:
        c = client_parser(name, f"{name} an instance")
        c.add_argument("uuid")
        c.add_argument("--wait", action="store_true",
                       help="return the instance in its new state")
        if name == "reboot":
            c.add_argument("--hard", action="store_true", help="reset instead of reboot")
        c.set_defaults(func=cmd_action)

    c = client_parser("show", "show one instance")
    c.add_argument("uuid")
    c.set_defaults(func=cmd_show)

    c = client_parser("list", "list instances across the tree")
    c.add_argument("--project", default="")
    c.add_argument("--state", default="", choices=["", *(s.value.lower() for s in InstanceState)])
    c.add_argument("--name-prefix", default="")
    c.add_argument("--limit", type=int, default=0, help="page size (default 100, at most 1000)")
    c.add_argument("--sort", default="name", choices=["name", "created_at"])
    c.add_argument("--page-token", default="", help="continue from a previous page")
    c.set_defaults(func=cmd_list)

    c = client_parser("locate", "print the cell path and host of an instance")
    c.add_argument("uuid")
    c.set_defaults(func=cmd_locate)

    c = client_parser("tree", "show every cell with its state and capacity")
    c.add_argument("--state-dir", default="", help="the state directory of `cellrouter up`:"
                   " adds how often each process was started again, and its last exit")
    c.set_defaults(func=cmd_tree)
    return p


if __name__ == "__main__":
    sys.exit(main())
