"""Plain-text tables, as every command of the `cellrouter` CLI prints them."""

from __future__ import annotations

from collections.abc import Sequence


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a table: each column as wide as its widest cell, two spaces
    between columns, no trailing space. `rows[0]` is usually the heading."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def print_table(rows: Sequence[Sequence[str]]) -> None:
    print("\n".join(table(rows)))
