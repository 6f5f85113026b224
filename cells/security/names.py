"""Which names may speak at a cell: a router's `children` and a leaf's agent
ids (`[agents] allowed`), as fnmatch patterns from its config.

A rule without patterns (the key absent) admits any name; under mutual TLS
the peer's certificate must still name it and carry the right role
(cellwire.tls). A rule with an empty list admits none.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from model.errors import PermissionDenied


@dataclass(frozen=True, slots=True)
class NameRule:
    """`patterns` from the config key `key` (for messages); None: any name."""

    what: str  # who is named: "child", "agent"
    key: str  # where the rule is set: "[cell] children"
    patterns: tuple[str, ...] | None = None

    @classmethod
    def children(cls, patterns: tuple[str, ...] | None) -> NameRule:
        """A router's `[cell] children`."""
        return cls("child", "[cell] children", patterns)

    @classmethod
    def agents(cls, patterns: tuple[str, ...] | None) -> NameRule:
        """A leaf's `[agents] allowed`."""
        return cls("agent", "[agents] allowed", patterns)

    def admits(self, name: str) -> bool:
        return self.patterns is None or any(fnmatchcase(name, p) for p in self.patterns)

    def check(self, name: str, here: str) -> None:
        """PermissionDenied naming `name` and the rule, unless it admits `name`;
        `here` is the cell, for the message."""
        if self.admits(name):
            return
        listed = ", ".join(f'"{p}"' for p in self.patterns or ())
        raise PermissionDenied(f"{self.what} {name[:255]} is not allowed at {here}: it matches"
                               f" none of {self.key} = [{listed}] in {here}'s config")


ANY_CHILD = NameRule.children(None)
ANY_AGENT = NameRule.agents(None)
