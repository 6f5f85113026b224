"""`cellrouter boot`, the actions, `show`, `list` and `locate`: the commands
about instances, asked of the cell given by --cell."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict

from cellops import boot_many
from cellops.cli_common import jsonable, open_client, print_json, show_instances
from cellops.progress import BootsProgress, ProgressLine
from cellwire.client import boot_spec
from model.cells import ListQuery, Placement
from model.compute import Action, BootSpec, InstanceState, Port
from model.table import print_table

ACTIONS = {
    "pause": Action.PAUSE,
    "unpause": Action.UNPAUSE,
    "suspend": Action.SUSPEND,
    "resume": Action.RESUME,
    "stop": Action.STOP,
    "start": Action.START,
    "delete": Action.DELETE,
}
ClientParser = Callable[[str, str], argparse.ArgumentParser]  # a command's own parser


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
    with open_client(args) as client:
        if args.dry_run:
            _show_placement(args, client.plan(spec))
        else:
            show_instances(args, [client.boot(spec)])
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
        with open_client(args) as client:
            outcome = boot_many.boot_all(client.boot, specs, progress)
    except KeyboardInterrupt:
        print(f"cellrouter: interrupted; {boot_many.rest_hint(base)}", file=sys.stderr)
        raise
    if args.json:
        print_json({"request_id_base": base,
                     "instances": [jsonable(i) for i in outcome.booted],
                     "failures": [jsonable(f) for f in outcome.failures]})
    else:
        print("\n".join(boot_many.report(outcome, base)))
    return 1 if outcome.failures else 0


def _show_placement(args: argparse.Namespace, placement: Placement) -> None:
    if args.json:
        print_json(jsonable(placement))
        return
    rows = [["RANK", "CELL", "HOST"]]
    rows += [[str(n), o.cell_path, o.host or "-"] for n, o in enumerate(placement.ranked, 1)]
    print_table(rows)
    for line in placement.explanations:
        print(f"  {line}")


def cmd_action(args: argparse.Namespace) -> int:
    action = ACTIONS.get(args.command)
    if args.command == "reboot":
        action = Action.REBOOT_HARD if args.hard else Action.REBOOT
    assert action is not None
    with open_client(args) as client:
        show_instances(args, [client.act(args.uuid, action, wait=args.wait)])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        instance = client.get(args.uuid)
    if args.json:
        print_json(jsonable(instance))
    else:
        for key, value in jsonable(instance).items():
            print(f"{key:>12}  {value}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    query = ListQuery(
        limit=args.limit, project=args.project, name_prefix=args.name_prefix,
        state=InstanceState(args.state.upper()) if args.state else None,
        sort=args.sort, page_token=args.page_token,
    )
    with open_client(args) as client:
        page = client.list(query)
    if args.json:
        print_json({"instances": [jsonable(i) for i in page.instances],
                     "next_page_token": page.next_page_token,
                     "unreachable_cells": list(page.unreachable_cells)})
        return 0
    show_instances(args, page.instances)
    for path in page.unreachable_cells:
        print(f"warning: cell {path} did not answer; its instances known to the index are"
              " listed as UNKNOWN", file=sys.stderr)
    if page.next_page_token:
        print(f"more: --page-token {page.next_page_token}")
    return 0


def cmd_locate(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        loc = client.locate(args.uuid)
    if args.json:
        print_json(asdict(loc))
    else:
        print(f"{loc.uuid}  {loc.cell_path}@{loc.host}")
    return 0


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


# ------------------------------------------------------------ parsers

def add_parsers(client_parser: ClientParser) -> None:
    """The instance commands, each from `client_parser(name, help)`."""
    _add_boot_parser(client_parser("boot", "boot a new instance"))
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
    _add_list_parser(client_parser("list", "list instances across the tree"))
    c = client_parser("locate", "print the cell path and host of an instance")
    c.add_argument("uuid")
    c.set_defaults(func=cmd_locate)


def _add_boot_parser(c: argparse.ArgumentParser) -> None:
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


def _add_list_parser(c: argparse.ArgumentParser) -> None:
    c.add_argument("--project", default="")
    c.add_argument("--state", default="", choices=["", *(s.value.lower() for s in InstanceState)])
    c.add_argument("--name-prefix", default="")
    c.add_argument("--limit", type=int, default=0, help="page size (default 100, at most 1000)")
    c.add_argument("--sort", default="name", choices=["name", "created_at"])
    c.add_argument("--page-token", default="", help="continue from a previous page")
    c.set_defaults(func=cmd_list)
