"""Keep a project's instances inside the cells an operator allows it.

Option `policy`: project -> allowed cell path prefixes, for example
`{"acme": ["top!eu"]}`. A project the policy does not name may go anywhere;
one given an empty list may go nowhere.

A candidate passes when its `cell_path` is

    inside an allowed cell     equal to a prefix, or below it ("top!eu!eu-a")
    above an allowed cell      a prefix is below it ("top" for "top!eu"), so a
                               router can still route toward the allowed cell

Prefixes are whole cell names: "top!eu" does not allow "top!europe". Hosts
in a leaf share the leaf's path, so there the filter passes all or none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bestmatch.api import PROJECT_CELL, HostState, RequestSpec, Verdict
from model.cells import SEPARATOR


def _related(path: str, prefix: str) -> bool:
    """True when `path` is `prefix`, inside it, or on the way to it."""
    return (
        path == prefix
        or path.startswith(prefix + SEPARATOR)
        or prefix.startswith(path + SEPARATOR)
    )


def _prefixes(project: str, prefixes: object) -> tuple[str, ...]:
    # A lone string would otherwise be read as a list of one-letter prefixes.
    if isinstance(prefixes, str) or not isinstance(prefixes, Sequence):
        raise TypeError(f"policy for project {project!r} must be a list of cell paths")
    if not all(isinstance(p, str) and p for p in prefixes):
        raise TypeError(f"policy for project {project!r} has an empty or non-string cell path")
    return tuple(prefixes)


class ProjectCellFilter:
    name = PROJECT_CELL

    def __init__(self, *, policy: Mapping[str, Sequence[str]] | None = None) -> None:
        self.policy = {
            project: _prefixes(project, prefixes) for project, prefixes in (policy or {}).items()
        }

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        allowed = self.policy.get(spec.project)
        if allowed is None or any(_related(candidate.cell_path, p) for p in allowed):
            return Verdict.ok()
        return Verdict.reject(
            PROJECT_CELL, f"project {spec.project} is kept to {', '.join(allowed) or 'no cell'}"
        )
