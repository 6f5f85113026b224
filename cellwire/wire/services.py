"""The services' full names, as gRPC paths and server reflection give them."""

from __future__ import annotations

from cellrouter.v1 import cells_pb2 as pb

CELLS = "/cellrouter.v1.Cells"  # the full name of the Cells service, as gRPC paths start


def service_name(service: str) -> str:
    """The full name of `service` ("Cells", "Parent", "Agents", "Objects"),
    e.g. "cellrouter.v1.Cells"; KeyError for a service the proto lacks."""
    return str(pb.DESCRIPTOR.services_by_name[service].full_name)
