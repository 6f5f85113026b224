"""Reference agents as processes of a tree (`[[agents]]` in a tree file).

    [[agents]]
    cell = "us-lb"                  # the leaf it reports to
    id = "lb-1"
    kind = "loadbalancer"
    capabilities = ["haproxy"]
    availability_zone = ""          # optional

    [[agents]]                      # a network agent (`cellrouter network-agent`)
    cell = "us-1"
    id = "net-1"
    kind = "network"                # its capability is its driver's name
    host = "h1"                     # the host whose ports it wires (default: its id)
    driver = "recording"            # the default; or "linux_bridge" (as root)
    physical_interface_mappings = ["physnet1:eth1"]
    netns = ""                      # optional: the namespace its ip commands run in

`cellrouter up` starts each once the cells are up, as `cellrouter agent`
(reporting every report interval, its objects under STATE/agents/ID; with
tls = true over mutual TLS, with the `agent` certificate ID.pem the runner
issues), and stops them first: agents to try service objects with, where no
real agent runs. An agent's id may not be a cell's name: each has a
certificate by its name.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cellops import children
from model.config import ConfigError

_KEYS = {"cell", "id", "kind", "capabilities", "availability_zone"}
_NETWORK_KEYS = {"host", "driver", "physical_interface_mappings", "netns"}  # kind = "network" only


@dataclass(frozen=True, slots=True)
class AgentSpec:
    cell: str
    id: str
    kind: str
    capabilities: tuple[str, ...] = ()
    availability_zone: str = ""
    network: tuple[str, ...] = ()  # a network agent's own options, as arguments


def agents_of(entries: Any, leaves: set[str], source: str) -> tuple[AgentSpec, ...]:
    """The `[[agents]]` of a tree file; ConfigError naming what is wrong."""
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise ConfigError(f"{source}: [[agents]] must be tables")
    specs = []
    for entry in entries:
        unknown = sorted(set(entry) - _KEYS - (_NETWORK_KEYS if _is_network(entry) else set()))
        if unknown:
            raise ConfigError(f"{source}: unknown keys in [[agents]]: {', '.join(unknown)}")
        for key in ("cell", "id", "kind"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ConfigError(f"{source}: an [[agents]] entry needs {key} (a string)")
        if entry["cell"] not in leaves:
            raise ConfigError(f"{source}: agent {entry['id']}'s cell {entry['cell']} is not a"
                              " leaf of the tree")
        caps = entry.get("capabilities", [])
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise ConfigError(f"{source}: agent {entry['id']}: capabilities must be strings")
        specs.append(AgentSpec(entry["cell"], entry["id"], entry["kind"], tuple(caps),
                               str(entry.get("availability_zone", "")),
                               _network_options(entry, source)))
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: two [[agents]] share an id")
    return tuple(specs)


def _is_network(entry: Mapping[str, Any]) -> bool:
    return entry.get("kind") == "network"


def _network_options(entry: Mapping[str, Any], source: str) -> tuple[str, ...]:
    """A network agent's `cellrouter network-agent` options; () for another kind."""
    if not _is_network(entry):
        return ()
    if entry.get("capabilities"):
        raise ConfigError(f"{source}: agent {entry['id']}: a network agent offers its driver"
                          " (driver = ...), not capabilities")
    mappings = entry.get("physical_interface_mappings", [])
    if not isinstance(mappings, list) or not all(isinstance(m, str) for m in mappings):
        raise ConfigError(f"{source}: agent {entry['id']}: physical_interface_mappings must"
                          " be strings (PHYSNET:INTERFACE)")
    options = ["--host", str(entry.get("host") or entry["id"]),
               "--driver", str(entry.get("driver", "recording")),
               "--netns", str(entry.get("netns", ""))]
    for mapping in mappings:
        options += ["--physical-interface-mappings", mapping]
    return tuple(options)


def start(spec: AgentSpec, cell_address: str, state_dir: Path, interval: float,
          log_level: str, certs: Path | None = None) -> subprocess.Popen[bytes]:
    """`cellrouter agent` for `spec`; with `certs` (the tree's CA directory),
    over mutual TLS with the agent's certificate there."""
    directory = state_dir / spec.id
    directory.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "cellops.cli", "--log-level", log_level,
            *(("network-agent",) if spec.kind == "network" else ("agent", "--kind", spec.kind)),
            "--cell", cell_address, "--state-dir", str(directory),
            "--id", spec.id, "--host", spec.id, "--interval", str(interval),
            "--availability-zone", spec.availability_zone]
    for capability in () if spec.kind == "network" else spec.capabilities:
        args += ["--capability", capability]
    args += spec.network  # last: its --host is the one taken
    if certs is not None:
        args += ["--ca-file", str(certs / "ca.pem"), "--cert-file", str(certs / f"{spec.id}.pem"),
                 "--key-file", str(certs / f"{spec.id}.key"), "--server-name", spec.cell]
    return children.start(args, directory / "agent.log")


def stop_all(procs: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    for proc in procs:
        children.stop(proc, grace)
