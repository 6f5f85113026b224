"""`cellrouter agent` (the reference agent) and `cellrouter agents` (operators).

    cellrouter agent --kind K --capability C... --cell LEAF --state-dir D
                     [--id ID] [--host H] [--availability-zone Z] [--interval S]
    cellrouter agents list [--kind K] [--cell CELL] [--json]
    cellrouter agents show|enable|disable|remove ID [--cell CELL] [--json]
    cellrouter place KIND NAME [--needs CAP]... [--hint K=V]... [--project P]
                     [--request-id ID] [--cell LEAF] [--json]
    cellrouter objects list [--kind K] [--agent A] [--project P] [--cell LEAF] [--json]
    cellrouter objects show|delete UUID [--cell LEAF] [--json]
    cellrouter bind UUID AGENT [--cell CELL]     move an object to an agent of its leaf
    cellrouter unbind UUID [--cell CELL]         move it off its agent, to another

These commands ask one cell (`--cell`, default $CELLROUTER_CELL). `agents`
asks a leaf for its own agents, or a router (the top, on its cells port or,
with an admin token, its client port) for its subtree's: an agent is found
at its leaf by its id, which must then be the id of one agent only below.
Failures are CellErrors: the main command prints them with their status code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from agents.reference import Agent, FileAgent
from cellwire.agents import AgentsClient
from cellwire.tls import TlsConfig
from model.agents import Agent as KnownAgent
from model.agents import PlaceSpec, ServiceObject
from model.config import ConfigError
from model.errors import InvalidArgument
from model.table import print_table

T = TypeVar("T")

DEFAULT_CELL = "127.0.0.1:50051"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("agent", help="run the reference agent: report to a leaf cell")
    p.add_argument("--kind", required=True, help='what it is: "loadbalancer", "vpn", ...')
    p.add_argument("--capability", action="append", default=[], dest="capabilities",
                   help="what it runs (repeat): haproxy, octavia-amphora, ...")
    p.add_argument("--cell", required=True, help="HOST:PORT of the leaf cell it reports to")
    p.add_argument("--state-dir", required=True, help="where it keeps its objects")
    p.add_argument("--id", default="", help="its id in the cell (default KIND-HOSTNAME)")
    p.add_argument("--host", default="", help="the host it names (default: this host's name)")
    p.add_argument("--availability-zone", default="")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between reports")
    p.add_argument("--ca-file", default="", help="under TLS: the deployment's CA (PEM)")
    p.add_argument("--cert-file", default="",
                   help="under TLS: this agent's certificate; its common name is the agent's id")
    p.add_argument("--key-file", default="", help="under TLS: this agent's key")
    p.add_argument("--server-name", default="",
                   help="under TLS: the name on the leaf's certificate (its cell name)")
    p.set_defaults(func=cmd_agent)

    p = sub.add_parser("agents", help="the agents a leaf cell knows")
    actions = p.add_subparsers(dest="agents_command", required=True)
    c = actions.add_parser("list", help="every agent, up or down")
    c.add_argument("--kind", default="")
    _options(c)
    c.set_defaults(func=cmd_list)
    for name, help_text in (("show", "one agent"),
                            ("enable", "let an agent take new objects"),
                            ("disable", "take no new objects (it keeps those it holds)"),
                            ("remove", "forget an agent (it is known again if it reports)")):
        c = actions.add_parser(name, help=help_text)
        c.add_argument("id")
        _options(c)
        c.set_defaults(func=cmd_one)


    p = sub.add_parser("place", help="place a service object on an agent")
    p.add_argument("kind", help="the kind of agent that holds it")
    p.add_argument("name")
    p.add_argument("--needs", action="append", default=[], help="a capability it needs (repeat)")
    p.add_argument("--hint", action="append", default=[], help="K=V, as availability_zone=az1")
    p.add_argument("--project", default="")
    p.add_argument("--request-id", default="", help="the same id again is the same object"
                   " (default: a new one)")
    _options(p)
    p.set_defaults(func=cmd_place)

    p = sub.add_parser("objects", help="the service objects a leaf cell holds")
    actions = p.add_subparsers(dest="objects_command", required=True)
    c = actions.add_parser("list", help="the objects not deleted")
    for flag in ("--kind", "--agent", "--project"):
        c.add_argument(flag, default="")
    _options(c)
    c.set_defaults(func=cmd_objects)
    for name in ("show", "delete"):
        c = actions.add_parser(name, help=f"{name} one object")
        c.add_argument("uuid")
        _options(c)
        c.set_defaults(func=cmd_objects)

    p = sub.add_parser("bind", help="move a service object to an agent of its leaf")
    p.add_argument("uuid")
    p.add_argument("agent")
    _options(p)
    p.set_defaults(func=cmd_bind)
    p = sub.add_parser("unbind", help="move a service object off its agent, to another")
    p.add_argument("uuid")
    _options(p)
    p.set_defaults(func=cmd_bind)


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cell", default=os.environ.get("CELLROUTER_CELL", DEFAULT_CELL),
                   help="HOST:PORT of a leaf, or of a router for its subtree (env CELLROUTER_CELL)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    p.add_argument("--token", default=os.environ.get("CELLROUTER_TOKEN", ""),
                   help="API token, for the top's client port (env CELLROUTER_TOKEN)")
    p.add_argument("--ca-file", default=os.environ.get("CELLROUTER_CA_FILE", ""),
                   help="the deployment CA, for a TLS client port (env CELLROUTER_CA_FILE)")
    p.add_argument("--server-name", default="",
                   help="the name the cell's certificate carries, if not the address")


def cmd_agent(args: argparse.Namespace) -> int:
    agent_id = args.id or f"{args.kind}-{socket.gethostname()}"
    state = FileAgent(Path(args.state_dir), agent_id, args.kind, tuple(args.capabilities),
                      args.availability_zone, args.host)
    print(f"agent {agent_id}: reporting to {args.cell} every {args.interval:g} s", flush=True)

    files = (args.ca_file, args.cert_file, args.key_file)
    if any(files) and not all(files):
        raise ConfigError("TLS needs --ca-file, --cert-file and --key-file together")
    tls = TlsConfig(*(Path(f) for f in files)).load() if all(files) else None

    async def run() -> None:  # the gRPC channel belongs to this loop: made in it
        client = AgentsClient(args.cell, timeout=max(args.interval, 10.0), tls=tls,
                              peer_name=args.server_name)
        await Agent(args.cell, state.describe, args.interval, client=client, holder=state).run()
    asyncio.run(run())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    listing = _ask(args, lambda client: client.listing(args.kind))
    _show(args, listing.agents)
    if not args.json:
        if listing.failover_stopped:
            print(listing.failover_stopped)
        if listing.unanswered:
            print(f"not listed: the agents of {', '.join(listing.unanswered)}"
                  " (down, or no answer)")
    return 0


def cmd_one(args: argparse.Namespace) -> int:
    command = args.agents_command

    async def one(client: AgentsClient) -> list[tuple[KnownAgent, str]]:
        if command == "remove":
            await client.remove(args.id)
            return []
        if command in ("enable", "disable"):
            return [await client.set_enabled(args.id, command == "enable")]
        return [(a, path) for a, path in await client.agents() if a.id == args.id]

    found = _ask(args, one)
    if command == "remove":
        print(f"agent {args.id} removed")
    elif command == "show" and not found:
        print(f"cellrouter: NOT_FOUND: no agent {args.id!r} has reported to {args.cell}")
        return 1
    else:
        _show(args, found)
    return 0


def cmd_place(args: argparse.Namespace) -> int:
    hints = []
    for hint in args.hint:
        key, sep, value = hint.partition("=")
        if not sep:
            raise InvalidArgument(f"a hint is KEY=VALUE, not {hint!r}")
        hints.append((key, value))
    spec = PlaceSpec(args.request_id or f"req-{uuidlib.uuid4()}", args.name, args.kind,
                     tuple(args.needs), tuple(sorted(hints)), args.project)
    placed = _ask(args, lambda client: client.place(spec))
    _show_objects(args, [placed])
    return 0


def cmd_objects(args: argparse.Namespace) -> int:
    command = args.objects_command

    async def ask(client: AgentsClient) -> list[ServiceObject]:
        if command == "list":
            return await client.objects(args.kind, args.agent, args.project)
        if command == "delete":
            return [await client.delete_object(args.uuid)]
        return [await client.get_object(args.uuid)]

    _show_objects(args, _ask(args, ask))
    return 0


def cmd_bind(args: argparse.Namespace) -> int:
    agent = getattr(args, "agent", None)
    moved = _ask(args, lambda c: c.bind(args.uuid, agent) if agent else c.unbind(args.uuid))
    _show_objects(args, [moved])
    return 0


def _show_objects(args: argparse.Namespace, objects: Sequence[ServiceObject]) -> None:
    if args.json:
        print(json.dumps([_object_json(o) for o in objects], indent=2))
        return
    print_table([["UUID", "NAME", "KIND", "NEEDS", "AGENT", "STATE", "PROJECT", "CELL"]] + [
        [o.uuid, o.spec.name, o.spec.kind, ",".join(o.spec.needs) or "-", o.agent,
         o.state.value + (f" ({o.fault})" if o.fault else ""), o.spec.project or "-",
         o.cell_path] for o in objects])


def _object_json(o: ServiceObject) -> dict[str, Any]:
    s = o.spec
    return {"uuid": o.uuid, "request_id": s.request_id, "name": s.name, "kind": s.kind,
            "needs": list(s.needs), "hints": dict(s.hints), "project": s.project,
            "agent": o.agent, "state": o.state.value, "fault": o.fault,
            "revision": o.revision, "cell_path": o.cell_path}


def _ask(args: argparse.Namespace, what: Callable[[AgentsClient], Awaitable[T]]) -> T:
    async def run() -> T:
        ca = Path(args.ca_file).read_bytes() if args.ca_file else None
        client = AgentsClient(args.cell, timeout=args.timeout, ca=ca, token=args.token,
                              peer_name=args.server_name)
        try:
            return await what(client)
        finally:
            await client.close()
    return asyncio.run(run())


def _show(args: argparse.Namespace, found: Sequence[tuple[KnownAgent, str]]) -> None:
    if args.json:
        print(json.dumps([_jsonable(a, path) for a, path in found], indent=2))
        return
    rows = [["ID", "KIND", "HOST", "CAPABILITIES", "ZONE", "STATE", "ENABLED", "LOAD",
             "HEARD", "CELL"]]
    for a, path in found:
        r = a.report
        rows.append([r.id, r.kind, r.host, ",".join(r.capabilities) or "-",
                     r.availability_zone or "-", "up" if a.alive else "DOWN",
                     "yes" if a.enabled and r.admin_up else "no" if not a.enabled else
                     "no (agent)", str(r.load), f"{a.heard_ago:.0f}s ago", path])
    print_table(rows)


def _jsonable(a: KnownAgent, path: str) -> dict[str, Any]:
    r = a.report
    return {"id": r.id, "kind": r.kind, "host": r.host, "capabilities": list(r.capabilities),
            "availability_zone": r.availability_zone, "admin_up": r.admin_up, "load": r.load,
            "alive": a.alive, "enabled": a.enabled, "heard_ago_s": round(a.heard_ago, 1),
            "cell_path": path}
