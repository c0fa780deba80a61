"""Redis down, short form: clear 503s, honest health checks, recovery with no restart (tests/chaos/redis_down.py)."""
from __future__ import annotations

from tests.chaos import redis_down
from tests.chaos.report import failures


def test_redis_down_answers_503_keeps_health_honest_and_recovers(long_run):
    rows = redis_down.run(long=long_run)
    assert not failures(rows), "\n".join(failures(rows))
