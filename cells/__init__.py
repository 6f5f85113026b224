"""Running a cell: the composition root (`server`), the router shell over
`routing/` (`router`), the leaf (`leaf`), membership upward (`uplink`), the
links to other cells (`links`) and the client library (`client`); the gRPC
edge (`edge/`), security (`security/`), observability (`observability/`) and
the tools (`ops/`: CLI, tree runner, certificates, embedding)."""

import os

# A leaf's hypervisor library forks helper processes (libvirt starts QEMU
# that way). gRPC's fork handlers abort such children ("Kick failed: Bad file
# descriptor"), and cellrouter never forks a gRPC user itself, so they are
# turned off. This must happen before gRPC is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
