"""Where an instance is below this cell: the index first, else every child.

A uuid the index does not know is looked for in every child at once
(`Locate`, which recurses down the tree), within FANOUT_TIMEOUT. The first
child that has it is recorded in the index. Only when every child says no is
the answer UnknownInstance (NOT_FOUND); when some child did not answer, it is
Unavailable, naming the cells that did not, because the instance may be there.

A uuid that every child said it does not have is remembered as missing for
MISS_TTL seconds: asked again meanwhile (a client retrying, or guessing uuids),
the answer is NOT_FOUND without asking every cell again. The index is always
read first, and a boot writes its row before it is forwarded, so a new
instance is never hidden by a remembered miss; one adopted behind the tree's
back is found MISS_TTL seconds later at most.
"""

from __future__ import annotations

import logging

from cachetools import TTLCache

from model.call import Call
from model.compute import InstanceState
from model.errors import NotFound, Unavailable
from routing.children import Children, Here, fanout
from routing.errors import UnknownInstance
from routing.index import Location, LocationIndex

log = logging.getLogger(__name__)

# Locate and Topology ask every child; one that has not answered by then is
# treated as unreachable instead of holding up the answer.
FANOUT_TIMEOUT = 2.0
MISS_TTL = 5.0  # seconds a uuid no child has is answered NOT_FOUND without asking
MISSES = 100_000  # uuids remembered as missing, at most


class Locator:
    def __init__(self, here: Here, children: Children, index: LocationIndex,
                 child_timeout: float) -> None:
        self._here = here
        self._children = children
        self._index = index
        self._child_timeout = child_timeout
        self._misses: TTLCache[str, bool] = TTLCache(maxsize=MISSES, ttl=MISS_TTL)

    async def find(self, uuid: str, call: Call) -> Location:
        """The location of `uuid`: from the index, or else from the children."""
        return self._index.lookup(uuid) or await self.relocate(uuid, call)

    async def relocate(self, uuid: str, call: Call) -> Location:
        """Ask every child at once where `uuid` is; record and return the answer.

        UnknownInstance when every child answered that it has no such
        instance (or did, less than MISS_TTL seconds ago); Unavailable when
        some did not answer (it may be there).
        """
        if uuid in self._misses:
            raise UnknownInstance(uuid)
        timeout = min(call.remaining(self._child_timeout), FANOUT_TIMEOUT)
        up = [c for c in self._children if self._children.is_up(c)]
        answers = await fanout(
            up, lambda c: c.link().locate(uuid, timeout=timeout, metadata=call.downstream()))
        silent = []
        for child, answer in answers:
            if isinstance(answer, BaseException):
                if not isinstance(answer, NotFound):
                    silent.append(child.path)
                continue
            found = Location(uuid, child.name, answer.cell_path, answer.host, answer.project,
                             state=InstanceState.UNKNOWN.value)
            self._index.record(found)
            log.info("index healed: %s is in %s", uuid, answer.cell_path)
            return found
        silent += [c.path for c in self._children if c not in up]
        if silent:
            raise Unavailable(
                f"instance {uuid} is not in the index of {self._here.path}, and"
                f" {', '.join(sorted(silent))} did not answer to say whether they have it"
            )
        self._misses[uuid] = True
        raise UnknownInstance(uuid)

    def evict(self, uuid: str) -> None:
        """Forget a row a child has just said is stale."""
        self._index.forget(uuid)
