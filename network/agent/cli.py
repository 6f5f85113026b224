"""`cellrouter network-agent`: wire the ports bound to this host's network agent.

    cellrouter network-agent --cell LEAF --id ID --host HOST --state-dir DIR
                             [--driver linux_bridge|recording]
                             [--physical-interface-mappings physnet1:eth1,...]
                             [--netns NS] [--availability-zone Z] [--interval S]

It reports to its leaf as an agent of kind "network" offering its driver's
name, and holds the objects of kind "network" bound to it (network.agent.objects).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import Callable, Mapping
from pathlib import Path

from agents.reference import Agent
from cellwire.agents import AgentsClient
from cellwire.tls import TlsConfig
from model.config import ConfigError
from network.agent.driver import WiringDriver
from network.agent.holder import NetworkHolder
from network.agent.linux_bridge import LinuxBridgeDriver, physical_interface_mappings
from network.agent.recording import RecordingDriver

# The drivers by name, each made from the physical interface mappings and the
# namespace to run in.
DRIVERS: Mapping[str, Callable[[dict[str, str], str], WiringDriver]] = {
    "linux_bridge": lambda mappings, netns: LinuxBridgeDriver(mappings, netns),
    "recording": lambda mappings, netns: RecordingDriver(),
}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("network-agent", help="run a network agent: wire the ports bound to it")
    p.add_argument("--cell", required=True, help="HOST:PORT of the leaf cell it reports to")
    p.add_argument("--state-dir", required=True, help="where it keeps its ports and revision")
    p.add_argument("--id", default="", help="its id in the cell (default network-HOST)")
    p.add_argument("--host", default="", help="the host it wires (default: this host's name)")
    p.add_argument("--driver", choices=sorted(DRIVERS), default="linux_bridge",
                   help="how ports are wired: linux_bridge (iproute2, as root; the default)"
                   " or recording (in memory, for tests)")
    p.add_argument("--physical-interface-mappings", action="append", default=[],
                   dest="mappings", help="PHYSNET:INTERFACE[,...] (repeat), as physnet1:eth1")
    p.add_argument("--netns", default="", help="run every ip command in this network namespace")
    p.add_argument("--availability-zone", default="")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between reports")
    p.add_argument("--ca-file", default="", help="under TLS: the deployment's CA (PEM)")
    p.add_argument("--cert-file", default="",
                   help="under TLS: this agent's certificate; its common name is the agent's id")
    p.add_argument("--key-file", default="", help="under TLS: this agent's key")
    p.add_argument("--server-name", default="",
                   help="under TLS: the name on the leaf's certificate (its cell name)")
    p.set_defaults(func=cmd_network_agent)


def cmd_network_agent(args: argparse.Namespace) -> int:
    host = args.host or socket.gethostname()
    agent_id = args.id or f"network-{host}"
    driver = DRIVERS[args.driver](physical_interface_mappings(args.mappings), args.netns)
    holder = NetworkHolder(Path(args.state_dir), driver, agent_id, host, args.availability_zone)
    for uuid, reason in holder.resume().items():
        print(f"network agent {agent_id}: port object {uuid} not plugged again: {reason}",
              flush=True)

    files = (args.ca_file, args.cert_file, args.key_file)
    if any(files) and not all(files):
        raise ConfigError("TLS needs --ca-file, --cert-file and --key-file together")
    tls = TlsConfig(*(Path(f) for f in files)).load() if all(files) else None
    print(f"network agent {agent_id} ({driver.name}): reporting to {args.cell} every"
          f" {args.interval:g} s", flush=True)

    async def run() -> None:  # the gRPC channel belongs to this loop: made in it
        client = AgentsClient(args.cell, timeout=max(args.interval, 10.0), tls=tls,
                              peer_name=args.server_name)
        await Agent(args.cell, holder.describe, args.interval, client=client,
                    holder=holder).run()
    asyncio.run(run())
    return 0
