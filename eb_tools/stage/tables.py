"""Plans and reports as plain-text tables: every verb renders its rows through `table`."""
from __future__ import annotations

from collections.abc import Iterable


def table(rows: Iterable[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    """Columns as wide as their widest cell, header first, trailing blanks cut."""
    rows = [header, *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
