"""Recently deleted instances, kept so that a repeated delete is not an error."""

from __future__ import annotations

import threading
from collections import OrderedDict

from model.compute import Instance


class Tombstones:
    """Recently deleted instances, so that a repeated delete (a retry) answers
    with the deleted instance instead of an error. Bounded; thread-safe."""

    def __init__(self, limit: int = 10_000) -> None:
        self._gone: OrderedDict[str, Instance] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def remember(self, instance: Instance) -> None:
        with self._lock:
            self._gone[instance.uuid] = instance
            while len(self._gone) > self._limit:
                self._gone.popitem(last=False)

    def get(self, uuid: str) -> Instance | None:
        with self._lock:
            return self._gone.get(uuid)
