"""Cell paths: the names of the cells from the top down, joined by '!'.

    top                 the top cell
    top!eu              a region under it
    top!eu!eu-a         a zone under the region

Names are short DNS-like labels, so a path never needs quoting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from model.errors import InvalidArgument
from routing.errors import BadPath, NotInSubtree

SEPARATOR = "!"
MAX_DEPTH = 16
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")


def check_name(name: str) -> str:
    """Return `name` if it is a valid cell name, else raise BadPath."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadPath(
            f"bad cell name {name[:80]!r}: use 1-63 lowercase letters, digits, '-' or '_',"
            " starting and ending with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True, order=True)
class CellPath:
    parts: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> CellPath:
        if not text:
            raise BadPath("empty cell path")
        parts = tuple(text.split(SEPARATOR))
        if len(parts) > MAX_DEPTH:
            raise BadPath(f"cell path {text[:80]!r} is deeper than {MAX_DEPTH} cells")
        for part in parts:
            check_name(part)
        return cls(parts)

    @classmethod
    def root(cls, name: str) -> CellPath:
        return cls((check_name(name),))

    def __str__(self) -> str:
        return SEPARATOR.join(self.parts)

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def depth(self) -> int:
        return len(self.parts)

    def child(self, name: str) -> CellPath:
        if self.depth >= MAX_DEPTH:
            raise BadPath(f"cell path {self} is already {MAX_DEPTH} cells deep")
        return CellPath((*self.parts, check_name(name)))

    def contains(self, other: CellPath) -> bool:
        """True when `other` is this cell or lies below it."""
        return other.parts[: len(self.parts)] == self.parts

    def next_hop(self, target: CellPath) -> str | None:
        """The child of this cell on the way to `target`; None when target is here.

        Raises NotInSubtree when `target` is not this cell or below it.
        """
        if not self.contains(target):
            raise NotInSubtree(f"cell {target} is not inside {self}")
        if target.depth == self.depth:
            return None
        return target.parts[self.depth]


def next_hop_to(here: str, target: str) -> str | None:
    """The child of the cell at `here` on the way to the cell at `target`; None
    when `target` is this cell. InvalidArgument when it is not below `here`
    (or either path is malformed)."""
    try:
        return CellPath.parse(here).next_hop(CellPath.parse(target))
    except NotInSubtree:
        raise InvalidArgument(f"target cell {target[:200]} is not inside {here}") from None
