"""Restoring a snapshot or a point in time into a new DB instance with a stage's settings, and waiting for it:
what the drill and a restore into a stage share.

The copy takes the stage's DB subnet group, security groups, parameter group and class, and is never public;
RDS restores the snapshot's engine version and master user, with the password of the snapshot's time.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from eb_tools.data import database as stage_database
from eb_tools.data import waiting
from eb_tools.data.database import StageDatabase
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

RESTORE_FAILED = frozenset({"failed", "incompatible-restore", "incompatible-parameters", "incompatible-network"})


@dataclass(frozen=True)
class Source:
    """What is restored: a snapshot, or `source_instance` at `restore_time`."""

    snapshot: str | None
    restore_time: datetime.datetime | None
    source_instance: str


def restore(where: StageTarget, source: Source, settings: StageDatabase, identifier: str, tags: dict[str, str],
            echo: Echo, timeout: float, **extra: Any) -> stage_database.Endpoint:
    """Restore `source` into new instance `identifier` with `settings`' network and class (and `extra`
    parameters), waiting with progress until it is available; its endpoint."""
    rds = where.client("rds")
    common: dict[str, Any] = {
        "DBInstanceClass": settings.instance_class, "DBSubnetGroupName": settings.subnet_group,
        "VpcSecurityGroupIds": list(settings.security_groups), "PubliclyAccessible": False, "MultiAZ": False,
        "DeletionProtection": False, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()], **extra}
    if settings.parameter_group:
        common["DBParameterGroupName"] = settings.parameter_group
    if source.snapshot:
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=identifier,
                                                 DBSnapshotIdentifier=source.snapshot, **common)
    else:
        rds.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=source.source_instance,
                                                 TargetDBInstanceIdentifier=identifier,
                                                 RestoreTime=source.restore_time, **common)
    return available(where, identifier, echo, timeout)


def available(where: StageTarget, identifier: str, echo: Echo, timeout: float) -> stage_database.Endpoint:
    """Wait, with progress, until DB instance `identifier` is available; its endpoint."""
    described = waiting.status(lambda: stage_database.describe(where, identifier), "DBInstanceStatus",
                               f"DB instance {identifier}", echo, timeout, where.target.poll_seconds,
                               RESTORE_FAILED)
    return stage_database.endpoint_of(described)
