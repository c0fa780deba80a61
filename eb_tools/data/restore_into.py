"""`eb_tools db restore SOURCE --into TARGET [--snapshot ID | --time ISO]`: replace a stage's database with a
restored copy, behind the endpoint its apps know.

RDS's own way (RDS user guide, "Renaming a DB instance", renaming to replace an existing DB instance): restore
a new instance; rename the current one away; give the restored one the current one's name, whose endpoint (a
DNS name holding the identifier) then leads to it; make new read replicas of it, since the old ones stay with
the instance renamed away. A renamed instance reboots and its new name answers only once it is available, so
the stage's database is down from the first rename to the end of the second (minutes in AWS): the plan says
so and is confirmed. Before the swap the copy gets the target's master password (its secret's current one:
RDS restores the snapshot's), backup retention and deletion protection, and is verified against the figures
recorded at the snapshot; after it, both tiers restart, batch by batch, so that no pool keeps connections to
the instance renamed away, and each deployment runs the stage's migrations on the restored schema (the
predeploy hook). The old instance is kept, renamed `<id>-replaced-<time>`: the way back, deleted by hand.

SOURCE and TARGET may be one stage (a disaster recovery) or two in one account and region (production's data
into staging); another engine version, master user or database name is refused before anything changes.
"""
from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eb_tools.data import database as stage_database
from eb_tools.data import drill, figures, reading, restoring, waiting
from eb_tools.data.database import StageDatabase
from eb_tools.errors import DataError
from eb_tools.stage import runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

LOCK_SECONDS = 3 * 3600
INTO_TAG = f"{figures.PREFIX}restored-into"
IDENTIFIER_LIMIT = 63  # an RDS for MariaDB DB instance identifier's length


@dataclass(frozen=True)
class Replica:
    identifier: str
    instance_class: str


@dataclass(frozen=True)
class IntoPlan:
    source: drill.DrillPlan  # what is restored (a snapshot or a point in time of SOURCE), checked as a drill's
    target: StageDatabase
    replicas: tuple[Replica, ...]
    kept_settings: dict[str, Any]  # the target's settings a restore does not carry (MultiAZ, retention, ...)
    restored: str  # the copy's name until it takes the target's
    replaced: str  # the target's current instance's name once renamed away
    reader: reading.Reader  # how the copy is verified
    empty: bool = False


def plan(source: StageTarget, into: StageTarget, snapshot: str | None, at: str | None, via: str = "auto"
         ) -> IntoPlan:
    """The restore, checked (read-only): SOURCE's snapshot or time, TARGET's database, which it must fit."""
    if source.target.region != into.target.region or source.stage.account != into.stage.account:
        raise DataError(f"db restore --into {into.name}: stage {source.name} is in another account or region; "
                        "copy the snapshot there first (CopyDBSnapshot, shared with that account)")
    chosen = drill.plan(source, snapshot, at, keep=False, via="direct")  # read nothing of the source
    target = stage_database.find(into)
    _check_fit(source, into, chosen, target)
    described = stage_database.describe(into, target.identifier)
    replicas = tuple(Replica(name, stage_database.describe(into, name)["DBInstanceClass"])
                     for name in described.get("ReadReplicaDBInstanceIdentifiers", []))
    now = f"{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M%S}"
    kept = {"MultiAZ": bool(described.get("MultiAZ")),
            "BackupRetentionPeriod": int(described.get("BackupRetentionPeriod", 0)),
            "DeletionProtection": bool(described.get("DeletionProtection"))}
    return IntoPlan(chosen, target, replicas, kept, _name(target.identifier, f"restored-{now}"),
                    _name(target.identifier, f"replaced-{now}"), reading.reader(into, target, via))


def _name(identifier: str, suffix: str) -> str:
    """`identifier` cut to leave room for `-suffix` in RDS's 63 characters (MariaDB), no hyphen doubled."""
    return f"{identifier[:IDENTIFIER_LIMIT - len(suffix) - 1].rstrip('-')}-{suffix}"


def _check_fit(source: StageTarget, into: StageTarget, chosen: drill.DrillPlan, target: StageDatabase) -> None:
    """A copy of SOURCE's database must be what TARGET's apps and parameter group expect."""
    theirs, ours = chosen.database, target
    if theirs.version != ours.version:
        raise DataError(f"stage {source.name} runs {theirs.version}, stage {into.name} {ours.version}: RDS restores "
                        "at the source's engine version, which the target's parameter group and app are not on")
    if theirs.name != ours.name:
        raise DataError(f"stage {source.name}'s database is named {theirs.name!r}, stage {into.name}'s apps use "
                        f"{ours.name!r}")
    users = {_username(source, theirs), _username(into, ours)}
    if len(users) > 1:
        raise DataError(f"stages {source.name} and {into.name} have different master users ({', '.join(sorted(users))}"
                        "): the restored instance keeps the source's, which the target's secret does not name")


def _username(where: StageTarget, database: StageDatabase) -> str:
    return str(stage_database.master_credentials(where, database)["username"])


def render(plan: IntoPlan, echo: Echo) -> None:
    target = plan.target
    echo(f"restore {plan.source.source} into the database of the stage, DB instance {target.identifier} "
         f"({target.version}):")
    echo(f"  1. restore it as {plan.restored} in the stage's network, with its master password, "
         f"{'Multi-AZ, ' if plan.kept_settings['MultiAZ'] else ''}backup retention "
         f"{plan.kept_settings['BackupRetentionPeriod']} d; verify it"
         + (" against the figures recorded at the snapshot" if plan.source.recorded else "")
         + f", read {plan.reader.describe()}")
    echo(f"  2. rename {target.identifier} to {plan.replaced} (kept: the way back; delete it yourself)")
    echo(f"  3. rename {plan.restored} to {target.identifier}: the apps' endpoint leads to the restored data")
    for replica in plan.replicas:
        echo(f"  4. replace read replica {replica.identifier} with a new one of the restored instance")
    echo("  5. restart both tiers batch by batch (their migrations run on the restored schema)")
    echo("  the stage's database is unavailable from step 2 until step 3 ends (minutes in AWS); everything "
         "written since the restored point is only in the kept instance")


Restart = Callable[[StageTarget, Echo, float], None]  # both tiers' processes, batch by batch (release.execute)


def operation(source: StageTarget, into: StageTarget, snapshot: str | None, at: str | None, echo: Echo, *,
              confirm_name: str | None, yes: bool, ask: Callable[[str], bool], timeout: float, restart: Restart,
              via: str = "auto") -> runner.Operation[IntoPlan, list[tuple[str, float]]]:
    """The verb for the runner, under TARGET's release lock. A production TARGET needs `confirm_name` typed
    out; another is asked unless `yes`. `restart` restarts the tiers (the releases' way, handed in: the data
    verbs sit beside them)."""
    if confirm_name is not None and confirm_name != into.name:
        raise DataError(f"--confirm {confirm_name} does not name the stage restored into, {into.name}")
    if into.is_production and confirm_name is None:
        raise DataError(f"stage {into.name} is production: type its name out to replace its database "
                        f"(--confirm {into.name}); nothing changed")
    return runner.Operation(
        into, f"db restore into {into.name}", plan=lambda _dry: plan(source, into, snapshot, at, via), render=render,
        execute=lambda made: run(into, made, echo, timeout, restart), unchanged=lambda made: [],
        lock_seconds=LOCK_SECONDS, dry_run_note="nothing restored",
        confirm=None if yes or confirm_name is not None else ask)


def run(into: StageTarget, plan: IntoPlan, echo: Echo, timeout: float, restart: Restart) -> list[tuple[str, float]]:
    """Carry the plan out, each step timed; the steps' times."""
    steps: list[tuple[str, float]] = []

    def step(name: str, work: Callable[[], Any]) -> None:
        started = time.monotonic()
        work()
        steps.append((name, time.monotonic() - started))
        echo(f"  {name}: {steps[-1][1]:.1f} s")

    step("restore", lambda: _restore(into, plan, echo, timeout))
    step("swap", lambda: _swap(into, plan, echo, timeout))
    for replica in plan.replicas:
        step(f"replica {replica.identifier}", functools.partial(_replace_replica, into, plan, replica, echo, timeout))
    step("restart", lambda: restart(into, echo, timeout))
    protected = " (its deletion protection off first: aws rds modify-db-instance --no-deletion-protection)" \
        if plan.kept_settings["DeletionProtection"] else ""
    echo(f"stage {into.name}: database restored from {plan.source.source} in {sum(s for _, s in steps):.1f} s; "
         f"the previous one is kept as {plan.replaced}: delete it when satisfied{protected} (aws rds "
         f"delete-db-instance --db-instance-identifier {plan.replaced} --final-db-snapshot-identifier "
         f"{plan.replaced}-final)")
    return steps


def _restore(into: StageTarget, plan: IntoPlan, echo: Echo, timeout: float) -> None:
    """The copy, made the target's (its password, retention, protection) and verified; deleted when it fails."""
    source = restoring.Source(plan.source.snapshot, plan.source.restore_time, plan.source.database.identifier)
    endpoint = restoring.restore(into, source, plan.target, plan.restored, {INTO_TAG: into.name}, echo, timeout)
    try:
        into.client("rds").modify_db_instance(
            DBInstanceIdentifier=plan.restored, ApplyImmediately=True,
            MasterUserPassword=stage_database.master_credentials(into, plan.target)["password"], **plan.kept_settings)
        restoring.available(into, plan.restored, echo, timeout)
        _verify(into, plan, endpoint)
    except Exception:
        into.client("rds").delete_db_instance(DBInstanceIdentifier=plan.restored, SkipFinalSnapshot=True,
                                              DeleteAutomatedBackups=True)
        raise


def _verify(into: StageTarget, plan: IntoPlan, endpoint: stage_database.Endpoint) -> None:
    restored = plan.reader.counts(endpoint)
    problems = figures.problems(plan.source.recorded, restored) if plan.source.recorded else []
    if problems:
        raise DataError(f"the restored copy is not what was recorded at the snapshot ({'; '.join(problems)}); "
                        f"stage {into.name}'s database is unchanged")


def _swap(into: StageTarget, plan: IntoPlan, echo: Echo, timeout: float) -> None:
    """The current instance renamed away, the copy renamed to its name; on a failure of the second, the first
    is renamed back."""
    rds, current = into.client("rds"), plan.target.identifier
    rds.modify_db_instance(DBInstanceIdentifier=current, NewDBInstanceIdentifier=plan.replaced,
                           ApplyImmediately=True)
    restoring.available(into, plan.replaced, echo, timeout)
    try:
        rds.modify_db_instance(DBInstanceIdentifier=plan.restored, NewDBInstanceIdentifier=current,
                               ApplyImmediately=True)
        restoring.available(into, current, echo, timeout)
    except Exception:
        rds.modify_db_instance(DBInstanceIdentifier=plan.replaced, NewDBInstanceIdentifier=current,
                               ApplyImmediately=True)
        raise


def _replace_replica(into: StageTarget, plan: IntoPlan, replica: Replica, echo: Echo, timeout: float) -> None:
    """The old replica (following the instance renamed away) deleted, a new one of the restored instance made
    with its name, so the apps' reader endpoint leads to the restored data too."""
    rds = into.client("rds")
    rds.delete_db_instance(DBInstanceIdentifier=replica.identifier, SkipFinalSnapshot=True)
    waiting.gone(lambda: stage_database.describe(into, replica.identifier), f"DB instance {replica.identifier}",
                 echo, timeout, into.target.poll_seconds)
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier=replica.identifier, SourceDBInstanceIdentifier=plan.target.identifier,
        DBInstanceClass=replica.instance_class, VpcSecurityGroupIds=list(plan.target.security_groups),
        PubliclyAccessible=False, **({"DBParameterGroupName": plan.target.parameter_group}
                                     if plan.target.parameter_group else {}))
    restoring.available(into, replica.identifier, echo, timeout)
