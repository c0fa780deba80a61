"""`eb_tools destroy STAGE`, provision's inverse, as an operation of the stage runner.

The plan comes from read-only calls: the stage stack's template (GetTemplate) gives each resource's
DeletionPolicy, its resources (ListStackResources) their names, S3 the retained buckets' object counts, RDS
whether deletion protection would make the deletion fail, and every live stack's VpcId parameter whether
another stage still uses the network of the isolation group. Executing terminates the stage's environments
(the stack's security groups and roles are theirs until they are gone), deletes the stage stack (CloudFormation
keeps what Retain keeps and takes the final snapshot that Snapshot promises), then the network stack when no
other stage uses it, and, with `--delete-data` and a second confirmation, empties and deletes the kept buckets
(DeleteBucket refuses a bucket that is not empty, and a versioned one holds every version).
The EB application, its versions and the release history stay: the application is shared by the stages.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eb_tools.aws import Progress, wait_until
from eb_tools.errors import ProvisionError
from eb_tools.names import environment_name, network_stack_name, stage_stack_name, web_environments
from eb_tools.provision import stacks
from eb_tools.stage import runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.stacks import live
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget

BUCKET = "AWS::S3::Bucket"
DB_INSTANCE = "AWS::RDS::DBInstance"
COUNT_CAP = 10_000  # objects counted per bucket before the plan says "10000+"
TERMINATE_TIMEOUT = 1800.0
LOCK_SECONDS = 7200.0


@dataclass(frozen=True)
class Fate:
    """What deleting the stage stack does to one of its resources, by its DeletionPolicy."""

    logical: str
    type: str
    physical: str
    policy: str  # Delete, Retain or Snapshot

    @property
    def kept(self) -> bool:
        return self.policy == "Retain"


@dataclass
class Plan:
    stack: str
    stack_id: str | None  # None: only environments are left
    environments: list[str]
    fates: list[Fate] = field(default_factory=list)
    objects: dict[str, int] = field(default_factory=dict)  # kept bucket: its objects (capped)
    protected: list[str] = field(default_factory=list)  # DB instances with deletion protection on
    network: str | None = None  # the network stack to delete; None when absent or used
    network_users: list[str] = field(default_factory=list)
    empty: bool = False  # a stage with nothing left is refused before the plan (see `plan`)

    @property
    def buckets(self) -> list[str]:
        return [f.physical for f in self.fates if f.type == BUCKET and f.kept and f.physical]


def _policy(resource: dict[str, Any]) -> str:
    """The DeletionPolicy CloudFormation applies: Delete unless said, Snapshot for a DB instance outside a
    cluster (CloudFormation template reference, "DeletionPolicy attribute")."""
    default = "Snapshot" if resource["Type"] == DB_INSTANCE and "DBClusterIdentifier" not in \
        resource.get("Properties", {}) else "Delete"
    return str(resource.get("DeletionPolicy", default))


def _fates(cfn: Any, stack_id: str) -> list[Fate]:
    body = cfn.get_template(StackName=stack_id)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)
                for r in page["StackResourceSummaries"]}
    return [Fate(logical, r["Type"], physical.get(logical, ""), _policy(r))
            for logical, r in sorted(template["Resources"].items())]


def _object_count(s3: Any, bucket: str) -> int:
    """The bucket's object versions and delete markers (what DeleteBucket needs gone), up to COUNT_CAP."""
    count = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        count += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        if count >= COUNT_CAP:
            break
    return count


def _network_users(cfn: Any, network: dict[str, Any], own: str) -> list[str]:
    """The live stacks but `own` whose VpcId parameter is the network's VPC: the stages that use it."""
    vpc = next((o["OutputValue"] for o in network.get("Outputs", []) if o["OutputKey"] == "VpcId"), None)
    return sorted(s["StackName"] for page in cfn.get_paginator("describe_stacks").paginate() for s in page["Stacks"]
                  if s["StackName"] != own and s["StackStatus"] != "DELETE_COMPLETE"
                  and any(p["ParameterKey"] == "VpcId" and p.get("ParameterValue") == vpc
                          for p in s.get("Parameters", [])))


def _environments(where: StageTarget) -> list[str]:
    names = [*web_environments(where.application, where.name, where.stage.web.blue_green),
             environment_name(where.application, where.name, "worker")]
    eb = where.client("elasticbeanstalk")
    found = eb.describe_environments(ApplicationName=where.application, EnvironmentNames=names,
                                     IncludeDeleted=False)["Environments"] if _application_exists(where) else []
    return [e["EnvironmentName"] for e in found if e["Status"] != "Terminated"]


def _application_exists(where: StageTarget) -> bool:
    eb = where.client("elasticbeanstalk")
    return bool(eb.describe_applications(ApplicationNames=[where.application])["Applications"])


def plan(where: StageTarget) -> Plan:
    """What destroying the stage deletes and keeps (read-only); refused when nothing of it exists."""
    cfn = where.client("cloudformation")
    name = stage_stack_name(where.application, where.name)
    stack, environments = live(cfn, name), _environments(where)
    if stack is None and not environments:
        raise ProvisionError(f"stage {where.name}: nothing to destroy: no stack {name} and no environment (never "
                             "provisioned, or destroyed already)")
    made = Plan(name, stack["StackId"] if stack else None, environments)
    if stack is not None:
        made.fates = _fates(cfn, stack["StackId"])
        made.objects = {b: _object_count(where.client("s3"), b) for b in made.buckets}
        rds = where.client("rds")
        made.protected = [f.physical for f in made.fates if f.type == DB_INSTANCE and f.physical and rds.
                          describe_db_instances(DBInstanceIdentifier=f.physical)["DBInstances"][0]
                          .get("DeletionProtection")]
    network_name = network_stack_name(where.application, where.stage.isolation)
    network = live(cfn, network_name)
    if network is not None:
        made.network_users = _network_users(cfn, network, name)
        made.network = None if made.network_users else network_name
    return made


def render(made: Plan, echo: Echo, delete_data: bool) -> None:
    """The plan: environments, each resource's fate, the network, and what stays."""
    for env in made.environments:
        echo(f"terminate environment {env}")
    rows = []
    for fate in made.fates:
        what = {"Retain": "keep", "Snapshot": "delete after a final snapshot"}.get(fate.policy, "delete")
        if fate.type == BUCKET and fate.kept:
            count = made.objects.get(fate.physical, 0)
            what = f"{'empty and delete' if delete_data else 'keep'} ({count}{'+' if count >= COUNT_CAP else ''} " \
                   "objects)"
        rows.append((what, fate.logical, fate.type, fate.physical))
    if rows:
        echo(f"delete stack {made.stack}:")
        for line in table(rows, ("fate", "resource", "type", "name")):
            echo(f"  {line}")
    if made.network:
        echo(f"delete stack {made.network} (no other stage uses it)")
    elif made.network_users:
        echo(f"keep the network: {', '.join(made.network_users)} still use(s) it")
    echo("kept: the EB application, its versions and the release history (shared by the stages)")


def refuse(made: Plan) -> None:
    if made.protected:
        raise ProvisionError(f"DB instance {', '.join(made.protected)} has deletion protection on, so the stack "
                             "cannot be deleted: set database.deletion_protection: false, provision, then destroy")


def _terminate(where: StageTarget, names: list[str], echo: Echo) -> None:
    """TerminateEnvironment each, then wait until none is live, a line each time one's status changes and a
    progress line when none changed for aws.QUIET_SECONDS."""
    eb = where.client("elasticbeanstalk")
    for name in names:
        eb.terminate_environment(EnvironmentName=name)
    said: dict[str, str] = {}
    started = time.monotonic()
    progress = Progress(echo, f"{', '.join(names)} to terminate")

    def gone() -> bool:
        live = {e["EnvironmentName"]: e["Status"] for e in eb.describe_environments(
            ApplicationName=where.application, EnvironmentNames=names, IncludeDeleted=False)["Environments"]}
        for name in names:
            status = live.get(name, "Terminated")
            if said.get(name) != status:
                echo(f"  {name}: {status} ({time.monotonic() - started:.0f} s)")
                said[name] = status
                progress.news(1)
        done = all(live.get(name, "Terminated") == "Terminated" for name in names)
        if not done:
            progress.quiet(lambda: ", ".join(f"{name} {status}" for name, status in said.items()))
        return done

    wait_until(gone, TERMINATE_TIMEOUT, f"{', '.join(names)} to terminate", interval=where.target.poll_seconds)


def _final_snapshots(where: StageTarget, made: Plan) -> list[str]:
    """The manual snapshots of the stack's DB instances: the final ones its Snapshot policy took among them."""
    rds = where.client("rds")
    instances = [f.physical for f in made.fates if f.type == DB_INSTANCE and f.policy == "Snapshot" and f.physical]
    return [s["DBSnapshotIdentifier"] for i in instances for s in rds.describe_db_snapshots(
        DBInstanceIdentifier=i, SnapshotType="manual")["DBSnapshots"]
        if s["DBSnapshotIdentifier"].startswith(f"{made.stack}-snapshot-".lower())]


def _delete_bucket(s3: Any, bucket: str) -> None:
    """Every version and delete marker, then the bucket (S3 refuses to delete a bucket that is not empty)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def execute(where: StageTarget, made: Plan, echo: Echo, delete_data: bool) -> list[str]:
    """Carry the plan out; the final snapshots taken."""
    cfn, interval = where.client("cloudformation"), where.target.poll_seconds
    if made.environments:
        echo(f"terminating {', '.join(made.environments)}")
        _terminate(where, made.environments, echo)
    finals: list[str] = []
    if made.stack_id is not None:
        echo(f"deleting stack {made.stack}")
        stacks.delete(cfn, made.stack_id, echo, interval)
        finals = _final_snapshots(where, made)
    if made.network is not None:
        network = live(cfn, made.network)
        if network is not None:
            echo(f"deleting stack {made.network}")
            stacks.delete(cfn, network["StackId"], echo, interval)
    for bucket in made.buckets if delete_data else []:
        echo(f"emptying and deleting bucket {bucket}")
        _delete_bucket(where.client("s3"), bucket)
    kept = [b for b in made.buckets if not delete_data]
    echo(f"stage {where.name}: destroyed" + (f"; final snapshot(s): {', '.join(finals)}" if finals else "")
         + (f"; buckets kept: {', '.join(kept)}" if kept else ""))
    return finals


def _asking(where: StageTarget, made_confirm: Callable[[str], bool] | None, delete_data: bool,
            ask: Callable[[str], bool]) -> Callable[[str], bool] | None:
    """The runner's confirmation: the usual question (None: answered by --yes or --confirm), then, with
    --delete-data, a second one about the buckets' data."""
    if not delete_data:
        return made_confirm

    def both(question: str) -> bool:
        if made_confirm is not None and not made_confirm(question):
            return False
        return ask(f"--delete-data: empty and delete stage {where.name}'s kept buckets, every object version "
                   "in them, for good?")

    return both


def operation(where: StageTarget, echo: Echo, *, confirm_name: str | None, yes: bool, delete_data: bool,
              ask: Callable[[str], bool]) -> runner.Operation[Plan, list[str]]:
    """The destroy verb for the runner. Production needs `confirm_name` equal to its name (--yes is not
    enough); another stage is asked unless `yes` or `confirm_name` names it."""
    if confirm_name is not None and confirm_name != where.name:
        raise ProvisionError(f"--confirm {confirm_name} does not name the stage to destroy, {where.name}")
    if where.is_production and confirm_name is None:
        raise ProvisionError(f"stage {where.name} is production: type its name out to destroy it "
                             f"(--confirm {where.name}); nothing changed")
    first = None if yes or confirm_name is not None else ask
    return runner.Operation(
        where, f"destroy {where.name}", plan=lambda _dry: plan(where),
        render=lambda made, say: render(made, say, delete_data), execute=lambda made: execute(
            where, made, echo, delete_data), unchanged=lambda _made: [], refuse=refuse,
        lock_seconds=LOCK_SECONDS, dry_run_note="nothing changed (nothing is deleted without --dry-run)",
        confirm=_asking(where, first, delete_data, ask))
