"""The API's one door to the tree: a gRPC client of the top cell.

Every call carries the API's own token for the top (when the tree has tokens),
the request id (so a request is traced by one id from HTTP to the leaf), and,
for anyone but an admin (a manager, a member, a reader), `x-cellrouter-act-for:
PROJECT`: the top then scopes the call to that project exactly as it scopes a
member's token (`cells.security.scope`).
"""

from __future__ import annotations

from pathlib import Path

from api.config import ApiConfig
from api.identity.tokens import TokenInfo
from cellwire.calls import Metadata
from cellwire.client import AsyncCellClient
from model.call import ACT_FOR_KEY, AUTH_KEY, REQUEST_ID_KEY


class Tree:
    """The top cell, as the API calls it."""

    def __init__(self, config: ApiConfig) -> None:
        ca = config.top_ca_file.read_bytes() if config.top_ca_file else None
        self.client = AsyncCellClient(config.top, timeout=config.timeout, ca=ca,
                                     ride_out=True)
        token = _read_token(config.top_token_file) if config.top_token_file else ""
        self._auth: Metadata = ((AUTH_KEY, f"Bearer {token}"),) if token else ()

    def metadata(self, who: TokenInfo, request_id: str) -> Metadata:
        """What a call for `who` sends: admins act as admins, managers and members
        for their project."""
        scope = () if who.admin else ((ACT_FOR_KEY, who.project),)
        return (*self._auth, *scope, (REQUEST_ID_KEY, request_id))

    def own_metadata(self, request_id: str) -> Metadata:
        """What a call the API makes as itself sends: for the little of the tree's
        shape every user may see (the availability zones), never for instances."""
        return (*self._auth, (REQUEST_ID_KEY, request_id))

    async def close(self) -> None:
        await self.client.close()


def _read_token(path: Path) -> str:
    return path.read_text().strip()
