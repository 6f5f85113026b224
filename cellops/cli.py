"""The `cellrouter` command: run cells, start a tree, and drive any cell.

Every client command talks to the cell given by --cell (default: the
CELLROUTER_CELL environment variable, else 127.0.0.1:50051). Output is a
table for people, or JSON with --json. A failed call exits with status 1 and
prints the gRPC status code name and the cell's message.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agents.cli import add_parsers as add_agents_parsers
from api.cli import add_parsers as add_api_parsers
from bestmatch.errors import PluginError
from cellops import cli_instances, cli_tree
from cellops.cli_admin import add_parsers as add_admin_parsers
from cellops.cli_common import client_options, print_json
from cellops.progress import CellsUpProgress, ProgressLine
from cells import config as cell_config
from cells.observability import logs
from cellwire import eventloop
from model.config import ConfigError
from model.errors import CellError
from model.table import print_table
from network.agent.cli import add_parsers as add_network_agent_parsers

UP_TIMEOUT = 60.0  # seconds `up` waits for every cell to register
SUPERVISE_EVERY = 0.2  # seconds between `up`'s looks at its processes

if TYPE_CHECKING:
    from cellops.tree import TreeRunner


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
    from cellops.supervise import Supervisor
    from cellops.tree import TreeRunner
    from cellops.tree_spec import load_tree

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
    _say_up(runner, top)
    try:
        supervisor = Supervisor(runner.slots(), runner.state_dir, sys.stdout)
        while not stop.wait(SUPERVISE_EVERY):
            supervisor.tick()
    finally:
        runner.stop()
        print("all cells stopped", flush=True)
    return 0


def _say_up(runner: TreeRunner, top: str) -> None:
    """What `up` started, and where its secrets are."""
    from api.identity.files import write_private

    spec = runner.spec
    print(f"top: {top}", flush=True)
    if not spec.tls:
        print("insecure: the cells talk plaintext gRPC, without certificates (tree file"
              " says insecure = true)", flush=True)
    else:
        print(f"mutual TLS between cells; clients: --ca-file {runner.certs}/ca.pem", flush=True)
    print(runner.notifications_said, flush=True)
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


def cmd_processes(args: argparse.Namespace) -> int:
    """The processes `cellrouter up` keeps running in a state directory."""
    from cellops.supervise import read_status

    processes = read_status(Path(args.state_dir))
    if not processes:
        print(f"no processes: no `cellrouter up` has run in {args.state_dir}", file=sys.stderr)
        return 1
    if args.json:
        print_json(processes)
        return 0
    rows = [["PROCESS", "KIND", "PID", "STATE", "RESTARTS", "LAST EXIT", "UP FOR"]]
    now = time.time()
    rows += [[p["name"], p["kind"], str(p["pid"]), p["state"], str(p["restarts"]),
              p["last_exit"] or "-", f"{now - p['since']:.0f} s" if p["since"] else "-"]
             for p in processes]
    print_table(rows)
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
        print_json(data)
    else:
        print_table(rows)
    return 0


# ------------------------------------------------------------ parser


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cellrouter", description=__doc__.split("\n")[0])
    p.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default)")
    p.add_argument("--log-format", default="text", choices=["text", "json"],
                   help="text (default), or one JSON object per line")
    sub = p.add_subparsers(dest="command", required=True)
    _add_service_parsers(sub)
    add_admin_parsers(sub)
    add_api_parsers(sub)
    add_agents_parsers(sub)
    add_network_agent_parsers(sub)
    s = sub.add_parser("plugins", help="list installed selectors, filters and weighers")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    s.set_defaults(func=cmd_plugins)

    client_options(p)  # before the verb ...

    def client_parser(name: str, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text)
        client_options(c, after_verb=True)  # ... or after it
        return c

    cli_instances.add_parsers(client_parser)
    cli_tree.add_parser(client_parser)
    return p


def _add_service_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`serve`, `up` and `processes`: running cells."""
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


if __name__ == "__main__":
    sys.exit(main())
