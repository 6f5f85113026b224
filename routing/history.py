"""An instance's action log (`model.instance_actions`), wherever its leaf is.

While the instance lives, the index names its child, and the call goes there
as any call about it (straight to the leaf when it can). A deleted instance
has left the indexes on the way (a router forgets a uuid as soon as its
delete is confirmed), but its leaf keeps its log for a while
(cells.instance_actions): so a uuid the index does not know, or whose child
no longer has it, is asked of every child at once, each router below doing
the same, within FANOUT_TIMEOUT, like a Locate; the first log found is the
answer. UnknownInstance (NOT_FOUND) when every child says it has none;
Unavailable when some did not answer (the log may be there).

No miss is remembered (unlike routing.locate): a deleted server's log is
read rarely, and its leaf answers from one indexed query.
"""

from __future__ import annotations

from model.call import Call
from model.errors import NotFound, Unavailable
from model.instance_actions import ActionLog
from routing.children import Children, Here, fanout
from routing.errors import UnknownInstance
from routing.forward import Forwarder
from routing.index import LocationIndex
from routing.locate import FANOUT_TIMEOUT


class History:
    def __init__(self, here: Here, children: Children, index: LocationIndex,
                 forwarder: Forwarder, child_timeout: float) -> None:
        self._here = here
        self._children = children
        self._index = index
        self._forwarder = forwarder
        self._child_timeout = child_timeout

    async def actions(self, uuid: str, request_id: str, call: Call) -> ActionLog:
        """The log of `uuid` (only `request_id`'s action, when given)."""
        if self._index.lookup(uuid) is not None:
            try:
                return await self._forwarder.send(
                    uuid, call,
                    lambda link, timeout: link.actions(uuid, request_id, timeout=timeout,
                                                       metadata=call.downstream()),
                    idempotent=True, direct=True)
            except (NotFound, UnknownInstance):
                pass  # deleted meanwhile: its leaf may still keep the log
        return await self._everywhere(uuid, request_id, call)

    async def _everywhere(self, uuid: str, request_id: str, call: Call) -> ActionLog:
        timeout = min(call.remaining(self._child_timeout), FANOUT_TIMEOUT)
        up = [c for c in self._children if self._children.is_up(c)]
        answers = await fanout(up, lambda c: c.link().actions(
            uuid, request_id, timeout=timeout, metadata=call.downstream()))
        silent = [c.path for c in self._children if c not in up]
        for child, answer in answers:
            if not isinstance(answer, BaseException):
                return answer
            if not isinstance(answer, (NotFound, UnknownInstance)):
                silent.append(child.path)
        if silent:
            raise Unavailable(
                f"no log of instance {uuid} was found below {self._here.path}, and"
                f" {', '.join(sorted(silent))} did not answer to say whether they keep it")
        raise UnknownInstance(uuid)
