"""What travels with a call from cell to cell: hop count, deadline, request id,
and whether the instance's lock holds for it."""

from __future__ import annotations

import time
import uuid as uuidlib
from dataclasses import dataclass, field

from model.errors import DeadlineExceeded
from model.principal import EVERYONE, Principal

HOPS_KEY = "x-cellrouter-hops"
REQUEST_ID_KEY = "x-request-id"
# A caller narrowing itself to one project (cells.security.scope).
ACT_FOR_KEY = "x-cellrouter-act-for"
# The API token a client presents (cells.security.auth).
AUTH_KEY = "authorization"
# "1": the call may not change a locked instance (a member's; an admin's may).
# Set where the caller's principal is known (cells.security.scope), obeyed
# where the lock is kept (the leaf), carried by every cell between.
LOCK_KEY = "x-cellrouter-obey-lock"


@dataclass(frozen=True, slots=True)
class Call:
    hops: int = 0
    deadline: float | None = None  # time.monotonic() value
    request_id: str = field(default_factory=lambda: uuidlib.uuid4().hex)
    # Whom the call acts for, as the port's gate decided; not sent below.
    principal: Principal = EVERYONE
    obey_lock: bool = False  # a locked instance refuses the call's changes

    @classmethod
    def from_metadata(
        cls, metadata: dict[str, str], time_remaining: float | None,
        principal: Principal = EVERYONE,
    ) -> Call:
        try:
            hops = max(0, int(metadata.get(HOPS_KEY, "0")))
        except ValueError:
            hops = 0
        deadline = time.monotonic() + time_remaining if time_remaining is not None else None
        request_id = metadata.get(REQUEST_ID_KEY, "")[:128] or uuidlib.uuid4().hex
        return cls(hops, deadline, request_id, principal, metadata.get(LOCK_KEY) == "1")

    def remaining(self, default: float) -> float:
        """Seconds left for a call below: the caller's deadline, else `default`.

        Raises DeadlineExceeded when the caller's time is already spent.
        """
        if self.deadline is None:
            return default
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the caller's deadline passed before the call was forwarded")
        return min(left, default)

    def downstream(self) -> tuple[tuple[str, str], ...]:
        """Metadata for the next hop."""
        if self.obey_lock:
            return ((HOPS_KEY, str(self.hops + 1)), (REQUEST_ID_KEY, self.request_id),
                    (LOCK_KEY, "1"))
        return ((HOPS_KEY, str(self.hops + 1)), (REQUEST_ID_KEY, self.request_id))
