"""Progress lines: rewritten in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

import pytest

from cellops.progress import BootsProgress, CellsUpProgress, ProgressLine, bar, named

NAMES = ["top", "r1", "z1", "z2"]


def line(isatty: bool, width: int = 80) -> tuple[ProgressLine, io.StringIO]:
    out = io.StringIO()
    return ProgressLine(out, isatty=isatty, width=width), out


# ------------------------------------------------------------ cellrouter up


def test_up_on_a_terminal_rewrites_one_line_and_ends_it() -> None:
    progress_line, out = line(isatty=True)
    up = CellsUpProgress(NAMES, progress_line)
    up.update(set())
    up.update({"top", "r1"})
    up.update({"top", "r1", "z1", "z2"})
    up.finish()
    assert out.getvalue() == (
        "\rcells up: 0/4 (waiting for: top, r1, z1, z2)"
        "\rcells up: 2/4 (waiting for: z1, z2)" + " " * 9 +  # blanks over the longer line
        "\rcells up: 4/4" + " " * 22 + "\n")


def test_up_on_a_terminal_writes_nothing_while_nothing_changes() -> None:
    progress_line, out = line(isatty=True)
    up = CellsUpProgress(NAMES, progress_line)
    for _ in range(3):
        up.update({"top"})
    assert out.getvalue() == "\rcells up: 1/4 (waiting for: r1, z1, z2)"


def test_up_elsewhere_writes_a_line_per_cell_once_without_carriage_returns() -> None:
    progress_line, out = line(isatty=False)
    up = CellsUpProgress(NAMES, progress_line)
    up.update(set())
    up.update({"top"})
    up.update({"top"})
    up.update({"top", "z1", "r1"})  # two at once: numbered in the tree's order
    up.update({"top", "r1", "z1", "z2"})
    up.finish()
    assert out.getvalue() == (
        "cell top up (1/4)\n"
        "cell r1 up (2/4)\n"
        "cell z1 up (3/4)\n"
        "cell z2 up (4/4)\n")


def test_up_names_at_most_six_cells_it_waits_for() -> None:
    progress_line, out = line(isatty=True, width=200)
    up = CellsUpProgress([f"z{n}" for n in range(1, 10)], progress_line)
    up.update({"z1"})
    assert out.getvalue() == "\rcells up: 1/9 (waiting for: z2, z3, z4, z5, z6, z7 and 2 more)"


def test_a_terminal_line_is_cut_short_of_the_width() -> None:
    progress_line, out = line(isatty=True, width=24)
    progress_line.update("cells up: 1/9 (waiting for: z2, z3)")
    assert out.getvalue() == "\rcells up: 1/9 (waiting "  # 23 columns: the last stays free


def test_nothing_shown_nothing_ended() -> None:
    progress_line, out = line(isatty=True)
    progress_line.end()
    assert out.getvalue() == ""


# ------------------------------------------------------------ boot --count


def test_boots_on_a_terminal_are_a_bar() -> None:
    progress_line, out = line(isatty=True)
    boots = BootsProgress(4, progress_line)
    boots.start()
    boots.boot_ended("web-2", "top!r1!z1", "h1")
    boots.boot_failed("web-1", "RESOURCE_EXHAUSTED: nothing fits")
    boots.boot_ended("web-3", "top!r1!z2", "h3")
    boots.boot_ended("web-4", "top!r1!z2", "h3")
    boots.finish()
    assert out.getvalue().split("\r") == [
        "",
        "[..........] 0/4 booted",
        "[##........] 1/4 booted",
        "[#####.....] 1/4 booted, 1 failed",
        "[#######...] 2/4 booted, 1 failed",
        "[##########] 3/4 booted, 1 failed\n",
    ]


def test_boots_elsewhere_are_a_line_each() -> None:
    progress_line, out = line(isatty=False)
    boots = BootsProgress(3, progress_line)
    boots.start()
    boots.boot_ended("web-2", "top!r1!z1", "h1")
    boots.boot_failed("web-1", "RESOURCE_EXHAUSTED: nothing fits")
    boots.boot_ended("web-3", "top!r1!z2", "")
    boots.finish()
    assert out.getvalue() == (
        "web-2 booted in top!r1!z1 on h1 (1/3 booted)\n"
        "web-1 failed: RESOURCE_EXHAUSTED: nothing fits (1/3 booted, 1 failed)\n"
        "web-3 booted in top!r1!z2 (2/3 booted, 1 failed)\n")


@pytest.mark.parametrize(("done", "total", "want"), [
    (0, 20, ".........."),
    (12, 20, "######...."),
    (19, 20, "#########."),
    (20, 20, "##########"),
    (1, 1000, ".........."),
    (0, 0, "##########"),
], ids=["none", "some", "almost", "all", "rounds-down", "nothing-to-do"])
def test_bar(done: int, total: int, want: str) -> None:
    assert bar(done, total) == want


@pytest.mark.parametrize(("names", "want"), [
    ([], ""),
    (["z1"], "z1"),
    (["a", "b", "c", "d", "e", "f"], "a, b, c, d, e, f"),
    (["a", "b", "c", "d", "e", "f", "g"], "a, b, c, d, e, f and 1 more"),
], ids=["none", "one", "six", "seven"])
def test_named(names: list[str], want: str) -> None:
    assert named(names) == want


def test_a_stream_without_a_terminal_is_plain() -> None:
    progress_line = ProgressLine.of(io.StringIO())
    assert (progress_line.isatty, progress_line.width) == (False, 80)
