"""A stateful fake oVirt engine that the real ``ovirtsdk4`` talks to over loopback HTTP.

It speaks the XML v4 subset described in shared/reference/ovirt-api.md: SSO tokens,
hosts (with statistics), clusters, templates, and VMs whose actions walk through timed
status transitions in background threads. Errors take the engine's shape: ``<fault>``
bodies (wrapped in ``<action>`` for actions) with the engine's HTTP codes, 404 with an
empty body for unknown entities, 401 for unknown or expired tokens. The
``Correlation-Id`` request header is echoed and recorded.

In process::

    with FakeEngine(transition_delay=0.05) as engine:
        conn = ovirtsdk4.Connection(url=engine.url, username="admin@internal",
                                    password="secret")

As a process (prints ``engine: http://127.0.0.1:PORT/ovirt-engine/api``, stops on SIGTERM)::

    python -m virt.fake_ovirt --listen 127.0.0.1:0 --hosts 2 --transition-delay 0.2
"""

# The package: entities (what the engine holds, and its refusals), state (the engine's model
# behind one lock), search (its search language), xml (its documents), http (routing, the
# server and FakeEngine); __main__ runs it as a process and prints this docstring for --help.

from virt.fake_ovirt.entities import (
    BLANK_TEMPLATE_ID,
    HOLDS_HOST,
    MIB,
    VM_STATUSES,
    EngineFault,
    Host,
    HostUsage,
    NotFound,
    RecordedRequest,
    Template,
    Vm,
    VmSpec,
    stable_id,
)
from virt.fake_ovirt.http import FakeEngine, Reply, handle, route_api
from virt.fake_ovirt.search import search_vms
from virt.fake_ovirt.state import EngineState
from virt.fake_ovirt.xml import API

__all__ = [
    "API",
    "BLANK_TEMPLATE_ID",
    "HOLDS_HOST",
    "MIB",
    "VM_STATUSES",
    "EngineFault",
    "EngineState",
    "FakeEngine",
    "Host",
    "HostUsage",
    "NotFound",
    "RecordedRequest",
    "Reply",
    "Template",
    "Vm",
    "VmSpec",
    "handle",
    "route_api",
    "search_vms",
    "stable_id",
]
