"""Progress where users wait: `cellrouter up` while cells register, and
`cellrouter boot --count N` while instances boot.

On a terminal, progress is one line rewritten in place; to a file or a pipe,
it is plain lines, one per event, without carriage returns. What to print is
decided here, apart from the terminal: `ProgressLine` takes its stream and
whether that is a terminal, so a test gives it a StringIO and either answer.

    cells up: 5/9 (waiting for: z2, r2)       on a terminal, rewritten
    cell z1 up (3/9)                          otherwise, one line per cell

    [#####.....] 10/20 booted, 1 failed       on a terminal, rewritten
    web-3 booted in top!eu!eu-a on h1 (3/20 booted)   otherwise, one per boot
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from typing import TextIO

DEFAULT_WIDTH = 80  # columns, when the terminal does not say
BAR_WIDTH = 10  # marks in a progress bar
MOST_NAMED = 6  # cells a progress line names before "and N more"


class ProgressLine:
    """Where progress goes. On a terminal, `update` rewrites one line in place
    (a carriage return, the new text cut to the width, blanks over what is
    left of the old); otherwise it writes each event as a line of its own."""

    def __init__(self, stream: TextIO, isatty: bool, width: int = DEFAULT_WIDTH) -> None:
        self.stream = stream
        self.isatty = isatty
        self.width = max(width, 20)
        self._shown = ""  # what the terminal's line holds now

    @classmethod
    def of(cls, stream: TextIO) -> ProgressLine:
        """Progress on `stream`, asking it whether it is a terminal, and how wide."""
        try:
            width = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):  # not a terminal, or no descriptor
            width = DEFAULT_WIDTH
        return cls(stream, stream.isatty(), width)

    def update(self, status: str, events: Sequence[str] = ()) -> None:
        """On a terminal, show `status` in place of the line (nothing is written
        when it has not changed); otherwise write each of `events` as a line."""
        if not self.isatty:
            for event in events:
                self.stream.write(event + "\n")
            if events:
                self.stream.flush()
            return
        text = status[: self.width - 1]  # a full last column would wrap on some terminals
        if text == self._shown:
            return
        blanks = " " * (len(self._shown) - len(text))
        self.stream.write("\r" + text + blanks)
        self.stream.flush()
        self._shown = text

    def end(self) -> None:
        """End the terminal's line, when one is shown, so that what follows
        starts on a line of its own. Writes nothing otherwise."""
        if self.isatty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = ""


def named(names: Sequence[str], most: int = MOST_NAMED) -> str:
    """`names` joined with commas, the ones past `most` counted instead."""
    if len(names) <= most:
        return ", ".join(names)
    return ", ".join(names[:most]) + f" and {len(names) - most} more"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A bar of `width` marks, `#` for the part done, `.` for the rest."""
    filled = width * done // total if total else width
    return "#" * filled + "." * (width - filled)


class CellsUpProgress:
    """`cellrouter up`'s progress: which cells of the tree have registered.

    `update` takes the names of the cells up now (it may be called as often as
    the tree is polled: a terminal line is rewritten only when it changes, and
    each cell's plain line is written once, the first time it is up)."""

    def __init__(self, names: Sequence[str], line: ProgressLine) -> None:
        self._names = list(names)
        self._line = line
        self._told: set[str] = set()

    def update(self, up: Collection[str]) -> None:
        total = len(self._names)
        ups = [n for n in self._names if n in up]
        new = [n for n in ups if n not in self._told]
        self._told.update(new)
        first = len(ups) - len(new)
        events = [f"cell {name} up ({first + k}/{total})" for k, name in enumerate(new, 1)]
        waiting = [n for n in self._names if n not in up]
        status = f"cells up: {len(ups)}/{total}"
        if waiting:
            status += f" (waiting for: {named(waiting)})"
        self._line.update(status, events)

    def finish(self) -> None:
        self._line.end()


class BootsProgress:
    """`cellrouter boot --count N`'s progress: a bar of the boots finished, or
    a line per boot as it ends."""

    def __init__(self, total: int, line: ProgressLine) -> None:
        self.total = total
        self.booted = 0
        self.failed = 0
        self._line = line

    def status(self) -> str:
        return f"[{bar(self.booted + self.failed, self.total)}] {self._counts()}"

    def start(self) -> None:
        """Show the empty bar (on a terminal) before the first boot ends."""
        self._line.update(self.status())

    def boot_ended(self, name: str, cell_path: str, host: str) -> None:
        self.booted += 1
        where = f" in {cell_path}" if cell_path else ""
        where += f" on {host}" if host else ""
        self._line.update(self.status(), [f"{name} booted{where} ({self._counts()})"])

    def boot_failed(self, name: str, why: str) -> None:
        self.failed += 1
        self._line.update(self.status(), [f"{name} failed: {why} ({self._counts()})"])

    def finish(self) -> None:
        self._line.end()

    def _counts(self) -> str:
        text = f"{self.booted}/{self.total} booted"
        return text + (f", {self.failed} failed" if self.failed else "")
