"""Only hosts (or cells) that are up and enabled."""

from __future__ import annotations

from bestmatch.api import ALIVE, ENABLED, HostState, RequestSpec, Verdict


class AliveFilter:
    name = ALIVE

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        if not candidate.alive:
            return Verdict.reject(ALIVE, "down")
        if not candidate.enabled:
            return Verdict.reject(ENABLED, "disabled by an operator")
        return Verdict.ok()
