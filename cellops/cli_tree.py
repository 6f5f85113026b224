"""`cellrouter tree`: every cell with its state and capacity, and (given the
state directory of `cellrouter up`) how often each process was started again."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cellops.cli_common import jsonable, open_client, print_json
from model.cells import CellKind, CellNode, Replica
from model.table import print_table


def cmd_tree(args: argparse.Namespace) -> int:
    from cellops.supervise import read_status

    with open_client(args) as client:
        top = client.topology()
    # With the state directory of `cellrouter up`: how often each process was
    # started again, and how it last ended.
    processes = read_status(Path(args.state_dir)) if args.state_dir else []
    if args.json:
        data = jsonable(top)
        if args.state_dir:
            data["processes"] = processes
        print_json(data)
        return 0
    rows = [["CELL", "STATE", "KIND", "DRIVER", "HOSTS", "VCPU used/total",
             "RAM MB used/total", "INSTANCES", "FLAVORS THAT FIT", "ACTIONS", "ADDRESS"]]
    _tree_rows(top, "", rows)
    if args.state_dir:
        rows[0].append("RESTARTS")
        for row in rows[1:]:
            row.append(restarts_of(processes, row[0].strip().rpartition("!")[2]))
    print_table(rows)
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
        silent = r.silent
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


def _actions(node: CellNode) -> str:
    """'all', or which actions the cell's subtree cannot do."""
    missing = sorted(a.value for a in node.cannot)
    return "all" if not missing else "no " + ",".join(missing)


def _tree_rows(node: CellNode, indent: str, rows: list[list[str]]) -> None:
    c = node.capacity
    rows.append([
        f"{indent}{node.path}",
        node.health.replace("down", "DOWN"), node.kind.value,
        _driver(node), f"{c.hosts_up}/{c.hosts}", f"{c.used.vcpus}/{c.total.vcpus}",
        f"{c.used.memory_mb}/{c.total.memory_mb}", str(c.instances),
        " ".join(f"{name}:{n}" for name, n in c.flavor_fits) or "-",
        _actions(node), _where(node),
    ])
    for child in node.children:
        _tree_rows(child, indent + "  ", rows)


def add_parser(client_parser: Callable[[str, str], argparse.ArgumentParser]) -> None:
    c = client_parser("tree", "show every cell with its state and capacity")
    c.add_argument("--state-dir", default="", help="the state directory of `cellrouter up`:"
                   " adds how often each process was started again, and its last exit")
    c.set_defaults(func=cmd_tree)
