"""The one place a cell makes the gRPC clients it reaches other cells with.

`CellServer` builds one `Links` and hands it in: `Children` and `RouterCell`
get `links.cell` (a `routing.link.Connect`) for children and leaves,
`Uplink` gets the link to the parent. Under mutual TLS every link presents
this cell's certificate and checks that the peer's names the cell called.
"""

from __future__ import annotations

from cellwire.client import AsyncCellClient
from cellwire.tls import Tls


class Links:
    def __init__(self, tls: Tls | None) -> None:
        self._tls = tls

    def cell(self, address: str, name: str, label: str = "") -> AsyncCellClient:
        """A link to the cell `name` (a child, or a leaf below) at `address`."""
        link = AsyncCellClient(address, tls=self._tls, peer_name=name)
        if label:
            link.label = label
        return link

    def parent(self, address: str, name: str, interval: float) -> AsyncCellClient:
        """The link to the parent; after a failure it reconnects within `interval`
        (a restarted parent must hear from its children before it marks them down)."""
        return AsyncCellClient(address, max_reconnect_backoff=interval, tls=self._tls,
                               peer_name=name)
