"""`eb_tools secrets rotate STAGE flask-key|redis-token|database...`: secrets the stage generated, changed
with no request or task failing (the database's: rotate_database.py).

EB hands an environment's secrets to its processes when it deploys, and never again (EB guide, "Fetching
secrets and parameters to Elastic Beanstalk environment variables": after a rotation "you must manually
refresh your environment variables"); so a rotation restarts every process by redeploying both tiers on the
labels they run (execute.refresh), batch by batch. Each phase leaves every process able to serve any request:

- flask-key: SECRET_KEY becomes "CURRENT NEW" (the new key verifies everywhere before anything signs with
  it), then "NEW CURRENT" (the new key signs; the old one still verifies the forms of pages served before),
  a restart after each;
- redis-token: ElastiCache takes the new token beside the old (ROTATE), the secret and the processes move to
  it (the first restart), then ElastiCache keeps the new one only (SET).

Several secrets rotated together share the restarts (two, or one for the token alone). The stage's release
lock is held throughout, so no deploy, promote or rollback runs in between.
"""
from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from eb_tools.aws import Progress, wait_until
from eb_tools.errors import ReleaseError
from eb_tools.release import execute, rotate_database
from eb_tools.stage import ebenv, runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

# What names each kind's secret: an environment secret, or (database) a property the apps read it by.
VARIABLE = {"flask-key": "SECRET_KEY", "redis-token": "REDIS_AUTH_TOKEN", "database": "DB_SECRET_ARN"}
RESTARTED = ("flask-key", "redis-token")  # the kinds EB hands to the processes: they need a restart
KEY_LENGTH = 64  # as provision generates them: letters and digits (ElastiCache's token rules allow those)


@dataclass(frozen=True)
class Rotation:
    """What a rotation changes, read before anything does."""

    where: StageTarget
    secrets: dict[str, str]  # kind -> the ARN of its secret, in the order given
    environments: dict[str, str]  # tier -> environment, both restarted
    group: str | None = None  # the ElastiCache replication group (redis-token)
    database: str | None = None  # the writer DB instance (database, rotated by hand)
    function: str | None = None  # the hosted rotation function's ARN (database, on a rotation schedule)

    @property
    def empty(self) -> bool:
        return False


def rotate(where: StageTarget, kinds: list[str], echo: Echo, *, dry_run: bool = False,
           timeout: float = execute.DEFAULT_TIMEOUT) -> None:
    """Rotate the stage's `kinds` of secret through the stage runner (plan, lock, execute)."""
    kinds = list(dict.fromkeys(kinds))
    op = runner.Operation(where, f"rotate {' '.join(kinds)}", plan=lambda _dry_run: plan(where, kinds),
                          render=render, execute=lambda rotation: _execute(rotation, echo, timeout),
                          unchanged=lambda _r: None, lock_seconds=timeout * 3 + execute.LOCK_MARGIN)
    runner.carry_out(op, echo, dry_run=dry_run)


def plan(where: StageTarget, kinds: list[str]) -> Rotation:
    """Read-only: the secret behind each kind's environment secret, and the replication group for a token."""
    eb = where.client("elasticbeanstalk")
    environments = where.live()
    settings = ebenv.settings(eb, where.application, environments["web"])
    arns = {kind: settings.get((ebenv.SECRETS, VARIABLE[kind])) or settings.get((ebenv.PROPERTIES, VARIABLE[kind]))
            for kind in kinds}
    for kind, arn in arns.items():
        if not arn:
            raise ReleaseError(f"stage {where.name}: its web environment has no {VARIABLE[kind]} secret to "
                               f"rotate; run eb_tools provision {where.name} first")
    group = _replication_group(where, settings.get((ebenv.PROPERTIES, "REDIS_URL"), "")) \
        if "redis-token" in kinds else None
    function = rotate_database.hosted_function(where, str(arns["database"])) if "database" in kinds else None
    database = rotate_database.writer(where, settings.get((ebenv.PROPERTIES, "DB_HOST"), "")) \
        if "database" in kinds and function is None else None
    return Rotation(where, {k: str(v) for k, v in arns.items()}, environments, group, database, function)


def _replication_group(where: StageTarget, redis_url: str) -> str:
    """The ElastiCache replication group whose primary endpoint the apps' REDIS_URL names."""
    host = urlsplit(redis_url).hostname
    groups = where.client("elasticache").describe_replication_groups()["ReplicationGroups"]
    found = [g["ReplicationGroupId"] for g in groups
             if any(n.get("PrimaryEndpoint", {}).get("Address") == host for n in g.get("NodeGroups", []))]
    if not host or not found:
        raise ReleaseError(f"stage {where.name}: no ElastiCache replication group answers at REDIS_URL "
                           f"({redis_url or 'not set'}); run eb_tools provision {where.name} first")
    return str(found[0])


def render(rotation: Rotation, echo: Echo) -> None:
    named = ", ".join(f"{kind} ({VARIABLE[kind]}, {arn})" for kind, arn in rotation.secrets.items())
    echo(f"stage {rotation.where.name}: rotate {named}")
    for number, step in enumerate(_steps(rotation), 1):
        echo(f"  {number}. {step}")


def _steps(rotation: Rotation) -> list[str]:
    tiers = " and ".join(f"{tier} ({name})" for tier, name in rotation.environments.items())
    restart = f"redeploy {tiers} on the versions they run: every process reads its secrets again"
    database = [f"database {rotation.database}: a new master password as the secret's pending version, set by "
                "RDS (ModifyDBInstance), then the secret's current one (the apps log in with the pending one "
                "meanwhile; no restart)"] if rotation.database else []
    if rotation.function:
        database = [f"database: RotateSecret (the stage's hosted rotation function, "
                    f"{rotation.function.rsplit(':', 1)[-1]}): a new master password as the secret's pending "
                    "version, set in the database by the function, then the secret's current one (the apps log in "
                    "with the pending one meanwhile; no restart)"]
    if not any(kind in rotation.secrets for kind in RESTARTED):
        return database
    first, second = list(database), []
    if "flask-key" in rotation.secrets:
        first.append("add a new Flask key after the current one (it verifies; the current one still signs)")
        second += ["make the new Flask key the signing one (the current one still verifies)", restart]
    if rotation.group is not None:
        first += [f"ElastiCache {rotation.group}: ROTATE to a new token (the current one stays valid)",
                  "put the new token in its secret"]
        second.insert(0, f"ElastiCache {rotation.group}: SET the new token (the current one stops working)")
    return [*first, restart, *second]


def _execute(rotation: Rotation, echo: Echo, timeout: float) -> None:
    manager = rotation.where.client("secretsmanager")

    def put(kind: str, value: str, what: str) -> None:
        manager.put_secret_value(SecretId=rotation.secrets[kind], SecretString=value)
        echo(f"  {what}")

    if rotation.function is not None:
        rotate_database.rotate_hosted(rotation.where, rotation.secrets["database"], rotation.function, echo, timeout)
    elif rotation.database is not None:
        rotate_database.rotate(rotation.where, rotation.secrets["database"], rotation.database, echo, timeout)
    if not any(kind in rotation.secrets for kind in RESTARTED):
        echo(f"stage {rotation.where.name}: database rotated; the apps log in with the new password")
        return
    key, token = _new_secret(), _new_secret()
    signing = str(manager.get_secret_value(SecretId=rotation.secrets["flask-key"])["SecretString"]).split()[0] \
        if "flask-key" in rotation.secrets else ""
    if signing:
        put("flask-key", f"{signing} {key}", "the new Flask key verifies from now on")
    if rotation.group is not None:
        _token(rotation, token, "ROTATE", echo, timeout)
        put("redis-token", token, "the secret holds the new Redis token")
    execute.refresh(rotation.where, echo, timeout)
    if rotation.group is not None:
        _token(rotation, token, "SET", echo, timeout)
    if signing:
        put("flask-key", f"{key} {signing}", "the new Flask key signs from now on")
        execute.refresh(rotation.where, echo, timeout)
    echo(f"stage {rotation.where.name}: {', '.join(rotation.secrets)} rotated; every process uses the new ones")


def _new_secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(KEY_LENGTH))


def _token(rotation: Rotation, token: str, strategy: str, echo: Echo, timeout: float) -> None:
    """Change the group's AUTH token with `strategy` and wait until the group is available again."""
    elasticache = rotation.where.client("elasticache")
    elasticache.modify_replication_group(ReplicationGroupId=rotation.group, AuthToken=token,
                                         AuthTokenUpdateStrategy=strategy, ApplyImmediately=True)
    echo(f"  ElastiCache {rotation.group}: {strategy} requested")
    started = time.monotonic()
    progress = Progress(echo, f"ElastiCache {rotation.group} to be available")

    def available() -> bool:
        status = elasticache.describe_replication_groups(ReplicationGroupId=rotation.group)[
            "ReplicationGroups"][0]["Status"]
        if status != "available":
            progress.quiet(lambda: str(status))
        return status == "available"

    wait_until(available, timeout, f"ElastiCache {rotation.group} available",
               interval=max(rotation.where.target.poll_seconds, 0.1))
    echo(f"  ElastiCache {rotation.group}: {strategy} done ({time.monotonic() - started:.0f} s)")
