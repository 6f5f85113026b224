"""A leaf applies an action once per request id (cells.outcomes): the same
request sent again is answered as the first was, nothing applied twice, even
when the process that began it died while acting."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from cells.outcomes import ActionOutcomes
from model.call import Call
from model.compute import Action, Instance, InstanceState, Resources
from model.errors import FailedPrecondition, InvalidArgument
from model.states import shows_applied
from routing.errors import UnknownInstance

log = logging.getLogger(__name__)

PRUNE_EVERY = 60.0  # seconds between prunings of remembered request ids

# The leaf's own ways to act once (uuid, action, wait, call, host) and to read an instance.
ActOnce = Callable[[str, Action, bool, Call, str], Awaitable[Instance]]
Get = Callable[[str, Call], Awaitable[Instance]]


class RememberedActions:
    """Actions by request id: those remembered in `outcomes`, and those being
    applied by this process now."""

    def __init__(self, outcomes: ActionOutcomes, act_once: ActOnce, get: Get,
                 path: Callable[[], str]) -> None:
        self._outcomes = outcomes
        self._act_once = act_once
        self._get = get
        self._path = path  # the leaf's path, as it is now
        self._acting: dict[str, tuple[str, Action, asyncio.Future[Instance]]] = {}
        self._last_prune = 0.0

    async def act(self, uuid: str, action: Action, wait: bool, call: Call,
                  host: str = "") -> Instance:
        """`host`: where an unshelve goes (a request sent again goes where the first went)."""
        key = call.request_id
        running = self._acting.get(key)
        if running is not None:  # the same request, still being applied here
            _same_request(key, running[0], running[1], uuid, action)
            return await asyncio.shield(running[2])
        task = asyncio.ensure_future(self._act_remembered(key, uuid, action, wait, call, host))
        self._acting[key] = (uuid, action, task)
        task.add_done_callback(lambda _: self._acting.pop(key, None))
        return await asyncio.shield(task)

    def prune_when_due(self) -> None:
        """Forget old request ids, when PRUNE_EVERY has passed since the last time."""
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self._last_prune = time.monotonic()
            self._outcomes.prune()

    async def _act_remembered(self, key: str, uuid: str, action: Action, wait: bool,
                              call: Call, host: str) -> Instance:
        earlier = self._outcomes.begin(key, uuid, action)
        if earlier is not None:
            _same_request(key, earlier.uuid, earlier.action, uuid, action)
            if earlier.answer is not None:
                return earlier.answer  # answered before: nothing is applied again
            # Begun by a process that died while acting (this process's own
            # actions under way are in self._acting, and never reach here).
            settled = await self._settle_cut_short(key, uuid, action, call)
            if settled is not None:
                return settled
        try:
            answer = await self._act_once(uuid, action, wait, call, host)
        except (FailedPrecondition, InvalidArgument, UnknownInstance):
            self._outcomes.drop(key)  # refused: nothing was applied
            raise
        self._outcomes.finish(key, answer)
        return answer

    async def _settle_cut_short(self, key: str, uuid: str, action: Action,
                                call: Call) -> Instance | None:
        """An action began under `key` by a process that died while acting: its
        answer if the instance shows it applied, else None (apply it now)."""
        try:
            current: Instance | None = await self._get(uuid, call)
        except UnknownInstance:
            current = None
        if not shows_applied(current.state if current is not None else None, action):
            return None
        answer = current or Instance(uuid, "", InstanceState.DELETED, Resources(),
                                     cell_path=self._path())
        log.info("%s of %s (request %s) was cut short after it was applied: answered as"
                 " applied", action.value, uuid, key)
        self._outcomes.finish(key, answer)
        return answer


def _same_request(key: str, first_uuid: str, first_action: Action, uuid: str,
                  action: Action) -> None:
    """InvalidArgument when request id `key`, first used for `first_action` of
    `first_uuid`, comes back with another action or instance."""
    if (first_uuid, first_action) != (uuid, action):
        raise InvalidArgument(
            f"request id {key} was used for {first_action.value} of {first_uuid}; a new"
            " action needs a new request id")
