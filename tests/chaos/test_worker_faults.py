"""The worker under SIGKILLs and failing handlers (tests/chaos/worker_kills.py): nothing lost, nothing done
twice where the call can be idempotent, crash-inside-the-call cases never more than the kills that landed
inside a call. Short form here (500 tasks, about a minute); `pytest --long` runs 10,000."""
from __future__ import annotations

from tests.chaos.report import failures
from tests.chaos.worker_kills import run


def test_worker_survives_sigkills_and_failing_handlers(long_run: bool) -> None:
    rows = run(long_run)
    print("\n" + "\n".join(row.line() for row in rows))
    assert not failures(rows), "\n".join(failures(rows))
