"""The database's master password rotated: by the stage's hosted rotation function when its secret has a
rotation schedule (provision/rotation.py), else by hand as that function would.

With a schedule (DescribeSecret's RotationEnabled), RotateSecret starts the function, and the command waits
until the new version is AWSCURRENT. RotateSecret answers at once and the rotation goes on without it
(asynchronous, API reference): a failure shows only in the function's logs (CloudWatch Logs group
/aws/lambda/<function>), which the wait reads for the runtime's [ERROR] lines, and in an AWSPENDING version
left behind, which the next RotateSecret reattempts ("A previous rotation isn't complete. That rotation will
be reattempted.").

Without one, the command does the single-user rotation's createSecret, setSecret and finishSecret steps
itself (RDS user guide and Secrets Manager's "Single user" rotation strategy), with RDS's ModifyDBInstance
setting the password instead of a connection to the server, so it needs no path into the database's private
network.

A single user fits a stage with a read replica: the replica follows its source's users through replication,
and RDS manages no master password of a source that has replicas. The apps ask for the secret's pending
version when the server refuses the current one (core/db.py), so no login fails while the secret catches up.
"""
from __future__ import annotations

import json
import secrets
import string
import time
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.aws import Progress, WaitTimeout, wait_until
from eb_tools.errors import ReleaseError
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

PASSWORD_LENGTH = 32  # letters and digits: within RDS's rule (8 to 41 printable, no / @ " or space)
INCOMPLETE = "previous rotation isn't complete"  # RotateSecret's refusal while a rotation is unfinished


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


def hosted_function(where: StageTarget, secret_arn: str) -> str | None:
    """The ARN of the rotation function that rotates the secret on a schedule; None when it has none."""
    described = where.client("secretsmanager").describe_secret(SecretId=secret_arn)
    return str(described["RotationLambdaARN"]) if described.get("RotationEnabled") else None


def function_logs(function_arn: str) -> str:
    """The function's CloudWatch Logs group, as a command that shows it."""
    return f"aws logs tail /aws/lambda/{function_arn.rsplit(':', 1)[-1]} --since 1h"


def rotate_hosted(where: StageTarget, secret_arn: str, function_arn: str, echo: Echo, timeout: float) -> None:
    """RotateSecret, then wait until its version is AWSCURRENT, or the function logs an error."""
    manager, started = where.client("secretsmanager"), time.time()
    try:
        version = str(manager.rotate_secret(SecretId=secret_arn)["VersionId"])
        echo(f"  RotateSecret: the rotation function sets a new password (version {version})")
    except ClientError as error:
        if INCOMPLETE not in str(error.response.get("Error", {}).get("Message", "")):
            raise
        version = _pending(manager.describe_secret(SecretId=secret_arn))
        echo(f"  a rotation that did not finish is reattempted (version {version})")
    progress = Progress(echo, f"the secret's version {version} to become current")

    def current() -> bool:
        stages = manager.describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {}).get(version, [])
        if "AWSCURRENT" in stages:
            return True
        failure = _logged_error(where, function_arn, started)
        if failure:
            raise ReleaseError(f"stage {where.name}: the database secret's rotation failed: {failure}; its "
                               f"AWSPENDING version stays, and the next rotation reattempts it; see the function's "
                               f"logs: {function_logs(function_arn)}")
        progress.quiet(lambda: ", ".join(stages) or "not staged yet")
        return False

    try:
        wait_until(current, timeout, "the secret's new version", interval=max(where.target.poll_seconds, 0.1))
    except WaitTimeout as error:
        raise ReleaseError(f"stage {where.name}: {error}; see the function's logs: {function_logs(function_arn)}"
                           ) from None
    echo(f"  the secret's current version is the new password ({time.time() - started:.0f} s)")


def _pending(described: dict[str, Any]) -> str:
    stages = described.get("VersionIdsToStages", {})
    return next(v for v, labels in stages.items() if "AWSPENDING" in labels and "AWSCURRENT" not in labels)


def _logged_error(where: StageTarget, function_arn: str, since: float) -> str:
    """The first error the function logged since `since` (Lambda's Python runtime: "[ERROR] Type: message")."""
    group = f"/aws/lambda/{function_arn.rsplit(':', 1)[-1]}"
    try:
        events = where.client("logs").filter_log_events(logGroupName=group, startTime=int(since * 1000) - 1000)
    except ClientError:
        return ""  # no log group yet: the function has not run
    errors = [str(e["message"]).removeprefix("[ERROR]").strip() for e in events.get("events", [])
              if str(e["message"]).startswith("[ERROR] ")]
    return errors[0] if errors else ""
