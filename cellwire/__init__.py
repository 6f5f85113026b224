"""The wire: everything that speaks gRPC to a cell. The conversions between
the generated protobuf code and `model`'s dataclasses (`wire/`), the one
channel factory (`channels`), TLS credentials and peer identity (`tls`), the
clients, one per service (`client`: the Cells and Parent services;
`objects`: the Objects service's calls, shared; `agents`: the Agents
service), what calls share (`calls`: metadata, the translation of gRPC's
errors), and the event loop cellrouter's processes run on (`eventloop`).

It imports only `model`, the generated code (`cellrouter.v1`) and
third-party libraries; the rooms above (cells, agents, api, cellops) reach
each other's processes only through it.
"""

import os

# A leaf's hypervisor library forks helper processes (libvirt starts QEMU
# that way). gRPC's fork handlers abort such children ("Kick failed: Bad file
# descriptor"), and cellrouter never forks a gRPC user itself, so they are
# turned off. gRPC reads the setting once, when it is first imported, so it
# is set here: a cellrouter process first loads gRPC through the wire (see
# tests/unit/cellwire/test_fork_setting.py).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
