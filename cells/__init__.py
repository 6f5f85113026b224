"""Running a cell: the composition root (`server`), the router shell over
`routing/` (`router`), the leaf (`leaf`), membership upward (`uplink`), the
links to other cells (`links`), the client library (`client`) and a cell
inside a program (`embed`); the gRPC edge (`edge/`), security (`security/`)
and observability (`observability/`). Operating a tree is `cellops/`."""

import os

# A leaf's hypervisor library forks helper processes (libvirt starts QEMU
# that way). gRPC's fork handlers abort such children ("Kick failed: Bad file
# descriptor"), and cellrouter never forks a gRPC user itself, so they are
# turned off. This must happen before gRPC is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
