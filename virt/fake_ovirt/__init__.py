"""A stateful fake oVirt engine that the real ``ovirtsdk4`` talks to over loopback HTTP.

It speaks the XML v4 subset described in shared/reference/ovirt-api.md: SSO tokens,
hosts (with statistics), clusters, templates, and VMs whose actions walk through timed
status transitions in background threads; tags (assigned to VMs, searched with
``tag=NAME``), networks with one vNIC profile each, and VM NICs whose MACs are unique
across the engine (given, or taken from the pool ``56:6f:...``). Errors take the engine's
shape: ``<fault>`` bodies (wrapped in ``<action>`` for actions) with the engine's HTTP
codes, 404 with an empty body for unknown entities, 401 for unknown or expired tokens.
The ``Correlation-Id`` request header is echoed and recorded.

In process::

    with FakeEngine(transition_delay=0.05) as engine:
        conn = ovirtsdk4.Connection(url=engine.url, username="admin@internal",
                                    password="secret")

As a process (prints ``engine: http://127.0.0.1:PORT/ovirt-engine/api``, stops on SIGTERM)::

    python -m virt.fake_ovirt --listen 127.0.0.1:0 --hosts 2 --transition-delay 0.2 \
        --networks ovirtmgmt,storage
"""

# The package: entities (what the engine holds, and its refusals), state (the engine's model
# behind one lock), search (its search language), xml (its documents), routes (the API's
# paths), http (SSO, the server and FakeEngine); __main__ runs it as a process and prints
# this docstring for --help.

from virt.fake_ovirt.entities import (
    BLANK_TEMPLATE_ID,
    HOLDS_HOST,
    MIB,
    ROOT_TAG_ID,
    VM_STATUSES,
    EngineFault,
    Host,
    HostUsage,
    Network,
    Nic,
    NicSpec,
    NotFound,
    RecordedRequest,
    Tag,
    Template,
    Vm,
    VmSpec,
    VnicProfile,
    stable_id,
)
from virt.fake_ovirt.http import FakeEngine, handle
from virt.fake_ovirt.routes import Reply, route_api
from virt.fake_ovirt.search import search_networks, search_vms
from virt.fake_ovirt.state import EngineState
from virt.fake_ovirt.xml import API

__all__ = [
    "API",
    "BLANK_TEMPLATE_ID",
    "HOLDS_HOST",
    "MIB",
    "ROOT_TAG_ID",
    "VM_STATUSES",
    "EngineFault",
    "EngineState",
    "FakeEngine",
    "Host",
    "HostUsage",
    "Network",
    "Nic",
    "NicSpec",
    "NotFound",
    "RecordedRequest",
    "Reply",
    "Tag",
    "Template",
    "Vm",
    "VmSpec",
    "VnicProfile",
    "handle",
    "route_api",
    "search_networks",
    "search_vms",
    "stable_id",
]
