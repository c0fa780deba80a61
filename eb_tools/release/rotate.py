"""`eb_tools secrets rotate STAGE flask-key|redis-token`: a secret the stage generated, changed with no
request or task failing.

EB hands an environment's secrets to its processes when it deploys, and never again (EB guide, "Fetching
secrets and parameters to Elastic Beanstalk environment variables": after a rotation "you must manually
refresh your environment variables"); so a rotation ends each phase by redeploying both tiers on the labels
they run (execute.refresh), batch by batch. Each phase leaves every process able to serve any request:

- flask-key: SECRET_KEY becomes "CURRENT NEW" (the new key verifies everywhere before anything signs with
  it), then "NEW CURRENT" (the new key signs; the old one still verifies the forms of pages served before);
- redis-token: ElastiCache takes the new token beside the old (ROTATE), the secret and the processes move to
  it, then ElastiCache keeps the new one only (SET).

The stage's release lock is held throughout, so no deploy, promote or rollback runs in between.
"""
from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from eb_tools.aws import wait_until
from eb_tools.errors import ReleaseError
from eb_tools.release import execute
from eb_tools.stage import ebenv, runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

VARIABLE = {"flask-key": "SECRET_KEY", "redis-token": "REDIS_AUTH_TOKEN"}  # the environment secret of each
KEY_LENGTH = 64  # as provision generates them: letters and digits (ElastiCache's token rules allow those)


@dataclass(frozen=True)
class Rotation:
    """What a rotation changes, read before anything does."""

    where: StageTarget
    kind: str
    secret_arn: str
    environments: dict[str, str]  # tier -> environment, both refreshed
    group: str | None = None  # the ElastiCache replication group (redis-token)

    @property
    def empty(self) -> bool:
        return False


def rotate(where: StageTarget, kind: str, echo: Echo, *, dry_run: bool = False,
           timeout: float = execute.DEFAULT_TIMEOUT) -> None:
    """Rotate the stage's `kind` secret through the stage runner (plan, lock, execute)."""
    op = runner.Operation(where, f"rotate {kind}", plan=lambda _dry_run: plan(where, kind), render=render,
                          execute=lambda rotation: _execute(rotation, echo, timeout), unchanged=lambda _r: None,
                          lock_seconds=timeout * 3 + execute.LOCK_MARGIN)
    runner.carry_out(op, echo, dry_run=dry_run)


def plan(where: StageTarget, kind: str) -> Rotation:
    """Read-only: the secret behind the kind's environment secret, and the replication group for a token."""
    eb = where.client("elasticbeanstalk")
    environments = where.live()
    settings = ebenv.settings(eb, where.application, environments["web"])
    arn = settings.get((ebenv.SECRETS, VARIABLE[kind]))
    if not arn:
        raise ReleaseError(f"stage {where.name}: its web environment has no {VARIABLE[kind]} secret to rotate; "
                           f"run eb_tools provision {where.name} first")
    group = _replication_group(where, settings.get((ebenv.PROPERTIES, "REDIS_URL"), "")) \
        if kind == "redis-token" else None
    return Rotation(where, kind, arn, environments, group)


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
    tiers = " and ".join(f"{tier} ({name})" for tier, name in rotation.environments.items())
    echo(f"stage {rotation.where.name}: rotate {rotation.kind} ({VARIABLE[rotation.kind]}, {rotation.secret_arn})")
    for number, step in enumerate(_steps(rotation, tiers), 1):
        echo(f"  {number}. {step}")


def _steps(rotation: Rotation, tiers: str) -> list[str]:
    redeploy = f"redeploy {tiers} on the versions they run: every process reads the secret again"
    if rotation.kind == "flask-key":
        return ["add a new key to the secret, after the current one (it verifies; the current one still signs)",
                redeploy, "make the new key the signing one (the current one still verifies)", redeploy]
    return [f"ElastiCache {rotation.group}: ROTATE to a new token (the current one stays valid)",
            "put the new token in the secret", redeploy,
            f"ElastiCache {rotation.group}: SET the new token (the current one stops working)"]


def _execute(rotation: Rotation, echo: Echo, timeout: float) -> None:
    new = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(KEY_LENGTH))
    secrets_manager = rotation.where.client("secretsmanager")
    current = str(secrets_manager.get_secret_value(SecretId=rotation.secret_arn)["SecretString"])

    def put(value: str, what: str) -> None:
        secrets_manager.put_secret_value(SecretId=rotation.secret_arn, SecretString=value)
        echo(f"  {what}")

    def refresh() -> None:
        execute.refresh(rotation.where, echo, timeout)

    if rotation.kind == "flask-key":
        signing = current.split()[0]
        put(f"{signing} {new}", "the new key verifies from now on")
        refresh()
        put(f"{new} {signing}", "the new key signs from now on")
        refresh()
    else:
        _token(rotation, new, "ROTATE", echo, timeout)
        put(new, "the secret holds the new token")
        refresh()
        _token(rotation, new, "SET", echo, timeout)
    echo(f"stage {rotation.where.name}: {rotation.kind} rotated; every process uses the new one")


def _token(rotation: Rotation, token: str, strategy: str, echo: Echo, timeout: float) -> None:
    """Change the group's AUTH token with `strategy` and wait until the group is available again."""
    elasticache = rotation.where.client("elasticache")
    elasticache.modify_replication_group(ReplicationGroupId=rotation.group, AuthToken=token,
                                         AuthTokenUpdateStrategy=strategy, ApplyImmediately=True)
    echo(f"  ElastiCache {rotation.group}: {strategy} requested")
    started = last_said = time.monotonic()

    def available() -> bool:
        nonlocal last_said
        status = elasticache.describe_replication_groups(ReplicationGroupId=rotation.group)[
            "ReplicationGroups"][0]["Status"]
        if status != "available" and time.monotonic() - last_said >= ebenv.QUIET_SECONDS:
            last_said = time.monotonic()
            echo(f"  ElastiCache {rotation.group}: {status} ({last_said - started:.0f} s)")
        return status == "available"

    wait_until(available, timeout, f"ElastiCache {rotation.group} available",
               interval=max(rotation.where.target.poll_seconds, 0.1))
    echo(f"  ElastiCache {rotation.group}: {strategy} done ({time.monotonic() - started:.0f} s)")
