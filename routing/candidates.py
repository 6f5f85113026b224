"""Children as candidates, and trying them in turn: one way for boots and objects.

A router turns each child that is up into a `bestmatch` candidate (`as_candidate`:
the capacity its subtree reports, the actions its leaves can do and the agents
below it, as capabilities), lets a selector order them, and tries them in that
order (`in_turn`): a child that answers RESOURCE_EXHAUSTED (it filled since it
reported, or no single host or agent there fits) gives way to the next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from bestmatch.api import HostState
from model.errors import ResourceExhausted
from routing.children import Child

T = TypeVar("T")


def as_candidate(child: Child, groups: Mapping[str, int] | None = None) -> HostState:
    """A child cell as the selector sees it; `groups`: members of server groups
    it holds, where the selector is to weigh them (routing.near.soft_members)."""
    c = child.capacity
    offered = (name for name, count in c.agents if count > 0)
    return HostState(name=child.name, cell_path=child.path, total=c.total, used=c.used,
                     largest_free=c.largest_free, instances=c.instances,
                     capabilities=frozenset((*child.capabilities, *offered)),
                     groups=groups or {})


async def in_turn(children: Sequence[Child], attempt: Callable[[Child], Awaitable[T]],
                  nobody: str) -> T:
    """`attempt(child)`'s answer for the first child that takes it; when every
    one refuses, RESOURCE_EXHAUSTED `nobody`, then each child's refusal."""
    refusals: list[str] = []
    for child in children:
        try:
            return await attempt(child)
        except ResourceExhausted as exc:
            refusals.append(f"{child.name}: {exc.message}")
    raise ResourceExhausted(f"{nobody}: " + "; ".join(refusals))
