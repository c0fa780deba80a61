"""The database restarted and failed over under load (tests/chaos/database_failover.py), in its short form
(the long form under `pytest --long`, as `make bench` runs it)."""
from __future__ import annotations

from pathlib import Path

from eb_tools.cloud.server import LocalCloud
from tests.chaos import database_failover
from tests.chaos.report import failures


def test_web_and_worker_survive_a_database_restart(long_run: bool, tmp_path: Path, cloud: LocalCloud) -> None:
    rows = database_failover.restart_scenario(long_run, tmp_path, cloud)
    assert not failures(rows), "\n".join(failures(rows))


def test_web_app_survives_a_multi_az_failover_without_losing_acknowledged_writes(long_run: bool,
                                                                                 tmp_path: Path) -> None:
    rows = database_failover.failover_scenario(long_run, tmp_path)
    assert not failures(rows), "\n".join(failures(rows))
