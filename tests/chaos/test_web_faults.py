"""Web failover, short form: one of two web processes SIGKILLed under logged-in load (tests/chaos/web_failover.py)."""
from __future__ import annotations

from tests.chaos import web_failover
from tests.chaos.report import failures


def test_killing_one_web_process_keeps_every_session_and_loses_no_request(long_run):
    rows = web_failover.run(long=long_run)
    assert not failures(rows), "\n".join(failures(rows))
