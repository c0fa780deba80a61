"""cron.yaml schedules: parsing errors and which minutes they fire in."""
from __future__ import annotations

from datetime import datetime

import pytest

from eb_tools.formats.cron import CronError, Schedule


@pytest.mark.parametrize(
    ("expression", "when", "due"),
    [
        ("*/15 * * * *", datetime(2026, 11, 25, 7, 30), True),
        ("*/15 * * * *", datetime(2026, 11, 25, 7, 31), False),
        ("5 7 * * *", datetime(2026, 11, 25, 7, 5), True),
        ("5 7 * * MON-FRI", datetime(2026, 11, 28, 7, 5), False),  # a Saturday
        ("0 0 * * 7", datetime(2026, 11, 29, 0, 0), True),  # 7 is Sunday too
        ("0 0 1 * SUN", datetime(2026, 11, 29, 0, 0), True),  # both day fields: either matches
        ("0 0 1 * SUN", datetime(2026, 11, 30, 0, 0), False),
        ("10-20/5 * * JAN,NOV *", datetime(2026, 11, 25, 3, 15), True),
        ("10-20/5 * * JAN,NOV *", datetime(2026, 11, 25, 3, 25), False),
        ("30/10 * * * *", datetime(2026, 11, 25, 3, 50), True),
    ],
)
def test_matches(expression, when, due):
    assert Schedule.parse(expression).matches(when) is due


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 4 fields, not 5"),
        ("61 * * * *", "minute value '61' is out of range 0-59"),
        ("* 5-2 * * *", "hour range '5-2' runs backwards"),
        ("*/0 * * * *", "minute step must be at least 1"),
        ("* * * FOO *", "month value 'FOO' is out of range 1-12"),
        ("@daily", "has 1 fields, not 5"),
    ],
)
def test_errors(expression, message):
    with pytest.raises(CronError, match=message):
        Schedule.parse(expression)
