"""Cells: the cellrouter service, tree membership, the client and the CLI."""

import os

# A leaf's hypervisor library forks helper processes (libvirt starts QEMU
# that way). gRPC's fork handlers abort such children ("Kick failed: Bad file
# descriptor"), and cellrouter never forks a gRPC user itself, so they are
# turned off. This must happen before gRPC is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
