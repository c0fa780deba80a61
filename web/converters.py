"""Whole numbers in URLs, bounded by the id columns they are looked up in.

Werkzeug's `int` converter takes any run of digits, and a value past the column's
range reaches the database driver, which fails (SQLite's with OverflowError past
2**63) instead of finding nothing. Registered as the app's `int` converter, this one
answers 404 for such a value before any view runs: every <int:…> route is covered,
those added later too.
"""
from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # the id columns are INT: signed 32 bits in MariaDB, the narrowest of the backends


class IdConverter(IntegerConverter):
    # The parameter names are the ones a rule passes: <int(min=1, max=99):x>.
    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        upper = MAX_ID if max is None or max > MAX_ID else max
        lower = -MAX_ID - 1 if signed and (min is None or min < -MAX_ID - 1) else min
        super().__init__(map, fixed_digits, lower, upper, signed)
