"""The database's master password rotated as Secrets Manager's single-user rotation does it (its
createSecret, setSecret and finishSecret steps; RDS user guide and Secrets Manager's "Single user" rotation
strategy), with RDS's ModifyDBInstance setting the password instead of a connection to the server, so it needs
no path into the database's private network.

A single user fits a stage with a read replica: the replica follows its source's users through replication,
and RDS manages no master password of a source that has replicas. The apps ask for the secret's pending
version when the server refuses the current one (core/db.py), so no login fails while the secret catches up.
"""
from __future__ import annotations

import json
import secrets
import string
import time

from eb_tools.aws import wait_until
from eb_tools.errors import ReleaseError
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

PASSWORD_LENGTH = 32  # letters and digits: within RDS's rule (8 to 41 printable, no / @ " or space)


def writer(where: StageTarget, host: str) -> str:
    """The DB instance whose endpoint the apps' DB_HOST names."""
    described = where.client("rds").describe_db_instances()["DBInstances"]
    found = [d["DBInstanceIdentifier"] for d in described if d.get("Endpoint", {}).get("Address") == host]
    if not host or not found:
        raise ReleaseError(f"stage {where.name}: no DB instance answers at DB_HOST ({host or 'not set'}); run "
                           f"eb_tools provision {where.name} first")
    return str(found[0])


def rotate(where: StageTarget, secret_arn: str, instance: str, echo: Echo, timeout: float) -> None:
    manager = where.client("secretsmanager")
    current = manager.get_secret_value(SecretId=secret_arn)
    values = json.loads(current["SecretString"])
    values["password"] = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(PASSWORD_LENGTH))
    pending = manager.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(values),
                                       VersionStages=["AWSPENDING"])["VersionId"]
    echo("  the new database password is the secret's pending version")
    where.client("rds").modify_db_instance(DBInstanceIdentifier=instance, MasterUserPassword=values["password"],
                                           ApplyImmediately=True)
    started = time.monotonic()
    wait_until(lambda: _available(where, instance), timeout, f"DB instance {instance} available",
               interval=max(where.target.poll_seconds, 0.1))
    echo(f"  database {instance}: master password set ({time.monotonic() - started:.0f} s)")
    manager.update_secret_version_stage(SecretId=secret_arn, VersionStage="AWSCURRENT", MoveToVersionId=pending,
                                        RemoveFromVersionId=current["VersionId"])
    echo("  the secret's current version is the new password")


def _available(where: StageTarget, instance: str) -> bool:
    """Whether RDS has applied the change (resetting-master-credentials, then available)."""
    found = where.client("rds").describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0]
    return found["DBInstanceStatus"] == "available" and not found.get("PendingModifiedValues", {}).get(
        "MasterUserPassword")
