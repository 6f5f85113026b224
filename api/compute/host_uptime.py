"""How long each host has been up, as far as the API can tell: the uptime of
os-hypervisors (api.compute.hypervisors).

The tree's Topology says whether a host is up now (its leaf answers and reports
the host alive) but carries no time at all: not when a leaf started, nor when
it registered a host. So the figure here is what this API process has seen
itself: the time since a Topology answer first showed the host up, with every
answer since showing it up too. A host seen down, or missing (its leaf did not
answer), starts again at its next sighting up, and so does every host when the
API process starts. The API looks only when it is asked about hypervisors, so
a break between two looks goes unseen: the figure is how long the API has
watched the host up, not how long the machine has run.

It is written as Nova's libvirt driver answers it, the output of `uptime`
(" 10:32:53 up 2 days,  3:04"), without the users and load averages that
`uptime` goes on with: the tree knows neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from aiohttp import web

from api.compute.fleet import TreeHost


def _now() -> datetime:
    return datetime.now(UTC)


def uptime_line(now: datetime, up: timedelta) -> str:
    """`up` as `uptime` (procps) writes it at `now`, up to the users it lists next."""
    minutes = max(0, int(up.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{days} day{'' if days == 1 else 's'}, " if days else ""
    text += f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min"
    return f" {now:%H:%M:%S} up {text}"


class HostSightings:
    """When this API process first saw each host up, with no sighting down since.
    One per app (`SIGHTINGS`); the app's event loop is its only caller."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock
        self._since: dict[str, datetime] = {}  # by the host's full path

    def look(self, found: Iterable[TreeHost]) -> None:
        """Take in one Topology answer: `found` is every host it shows (a host
        left out counts as not seen up)."""
        now = self._clock()
        self._since = {host.path: self._since.get(host.path, now)
                       for host in found if host.up}

    def uptime(self, host: TreeHost) -> str | None:
        """`uptime`'s line for `host`; None when it is not up (Nova's answer for
        a host whose uptime it cannot get)."""
        since = self._since.get(host.path) if host.up else None
        if since is None:
            return None
        now = self._clock()
        return uptime_line(now, now - since)


SIGHTINGS = web.AppKey("cellrouter_host_sightings", HostSightings)
