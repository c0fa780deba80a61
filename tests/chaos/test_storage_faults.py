"""S3 and SQS unreachable for a while (tests/chaos/storage_down.py), in its short form (the long form under
`pytest --long`, as `make bench` runs it)."""
from __future__ import annotations

from eb_tools.cloud.server import LocalCloud
from tests.chaos import storage_down
from tests.chaos.report import failures


def test_aws_outage_leaves_nothing_half_recorded_and_loses_no_task(long_run: bool, cloud: LocalCloud) -> None:
    rows = storage_down.run(long_run, cloud)
    assert not failures(rows), "\n".join(failures(rows))
