"""`eb_tools destroy STAGE` against a stage provisioned into a local cloud whose database is a real MariaDB: the
plan says what goes and what stays, bad input is one line and changes nothing, the environments and the stage
stack go, the network stays while another stage uses it, the buckets keep their data, and the final snapshot
that the database's Snapshot policy takes restores into a new instance with the rows the app wrote.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pymysql
import pytest
from click.testing import CliRunner, Result

from core import migrate
from eb_tools import aws
from eb_tools.aws import wait_until
from eb_tools.cli import main
from eb_tools.names import network_stack_name, stage_stack_name
from eb_tools.provision import destroy
from tests.test_db_drill import ROOT, Drilled, provisioned


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drilled]:
    with provisioned(tmp_path_factory.mktemp("destroy")) as made:
        yield made


def _neighbour(stage: Drilled) -> str:
    """A stack standing for another stage of the isolation group: it takes the network's VPC as its VpcId."""
    cfn = stage.client("cloudformation")
    network = cfn.describe_stacks(StackName=network_stack_name("oppima", stage.name))["Stacks"][0]
    vpc = next(o["OutputValue"] for o in network["Outputs"] if o["OutputKey"] == "VpcId")
    name = f"oppima-{stage.name}x-resources"
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({
        "Parameters": {"VpcId": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
        Parameters=[{"ParameterKey": "VpcId", "ParameterValue": vpc}])
    return name


def _stack_names(stage: Drilled) -> set[str]:
    return {s["StackName"] for s in stage.client("cloudformation").describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"}


def test_production_needs_its_name_typed_out_and_an_unknown_stage_is_one_line() -> None:
    shipped = ["--file", str(ROOT / "eb_tools.yaml")]
    refused = CliRunner().invoke(main, ["destroy", "production", "--yes", *shipped])
    assert refused.exit_code == 1 and "type its name out to destroy it (--confirm production)" in refused.output
    wrong = CliRunner().invoke(main, ["destroy", "production", "--confirm", "staging", *shipped])
    assert wrong.exit_code == 1 and "does not name the stage to destroy" in wrong.output


def test_destroy_keeps_the_data_and_its_final_snapshot_restores(stage: Drilled) -> None:
    database = stage.app_database()
    try:
        migrate.upgrade(database)
        stage.sign_up(database, "ada@example.com", "bob@example.com")
    finally:
        database.dispose()
    outputs, s3 = stage.outputs(), stage.client("s3")
    secret = outputs["DbSecretArn"]
    uploads = next(b["Name"] for b in s3.list_buckets()["Buckets"]
                   if b["Name"].startswith(f"oppima-{stage.name}-resources-uploadsbucket-"))
    s3.put_object(Bucket=uploads, Key="originals/a.jpg", Body=b"x")
    neighbour = _neighbour(stage)
    before = _stack_names(stage)

    dry = stage.eb_tools("destroy", stage.name, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "delete after a final snapshot  Database" in dry.output, dry.output
    assert re.search(r"keep \(1 objects\) +UploadsBucket", dry.output), dry.output
    assert f"terminate environment oppima-{stage.name}-web" in dry.output
    assert f"keep the network: {neighbour} still use(s) it" in dry.output
    unconfirmed = _answering(stage, "n\n", "destroy", stage.name, "--yes", "--delete-data")
    assert unconfirmed.exit_code == 1 and "not confirmed" in unconfirmed.output and _stack_names(stage) == before
    stage.hold_the_lock()
    locked = stage.eb_tools("destroy", stage.name, "--yes")
    assert locked.exit_code == 1 and "another release is running (deploy v9" in locked.output, locked.output
    stage.release_the_lock()

    done = stage.eb_tools("destroy", stage.name, "--yes")
    assert done.exit_code == 0, done.output
    assert _stack_names(stage) == before - {stage_stack_name("oppima", stage.name)}  # the network stays
    eb = stage.client("elasticbeanstalk")
    ours = eb.describe_environments(EnvironmentNames=[f"oppima-{stage.name}-{tier}" for tier in ("web", "worker")])
    assert {e["Status"] for e in ours["Environments"]} == {"Terminated"}  # (moto's EB is the process's: ours only)
    assert s3.get_object(Bucket=uploads, Key="originals/a.jpg")["Body"].read() == b"x"
    final = done.output.split("final snapshot(s): ")[1].split(";")[0]
    assert final.startswith(f"oppima-{stage.name}-resources-snapshot-database-"), done.output
    assert _restored_emails(stage, final, secret) == ["ada@example.com", "bob@example.com"]
    again = stage.eb_tools("destroy", stage.name, "--yes")
    assert again.exit_code == 1 and "nothing to destroy" in again.output


def _answering(stage: Drilled, answers: str, *words: str) -> Result:
    """eb_tools with `answers` on stdin, for its questions."""
    return CliRunner().invoke(main, [*words, "--file", str(stage.file)], input=answers,
                              env={"AWS_ENDPOINT_URL": stage.cloud.url, "AWS_DEFAULT_REGION": "us-east-1",
                                   "EB_TOOLS_POLL_SECONDS": "0.2"})


def _emails(stage: Drilled, endpoint: dict[str, Any], secret: str) -> list[str]:
    credentials = json.loads(stage.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])
    with pymysql.connect(host=endpoint["Address"], port=endpoint["Port"], database="app",
                         user=credentials["username"], password=credentials["password"]) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT email FROM users ORDER BY email")
        return [row[0] for row in cursor.fetchall()]


def _restored_emails(stage: Drilled, snapshot: str, secret: str) -> list[str]:
    """The users in a new instance restored from `snapshot`, logged into with the kept secret's credentials."""
    rds = stage.client("rds")
    assert rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot)["DBSnapshots"][0]["Status"] == "available"
    network = stage.client("cloudformation").describe_stacks(
        StackName=network_stack_name("oppima", stage.name))["Stacks"][0]
    subnets = next(o["OutputValue"] for o in network["Outputs"] if o["OutputKey"] == "PrivateSubnetIds")
    rds.create_db_subnet_group(DBSubnetGroupName=f"{stage.name}-back", DBSubnetGroupDescription="restore",
                               SubnetIds=subnets.split(","))  # the stage's went with its stack; the network stays
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=f"{stage.name}-back", DBSnapshotIdentifier=snapshot,
                                             DBSubnetGroupName=f"{stage.name}-back")

    def available() -> dict[str, Any]:
        found = rds.describe_db_instances(DBInstanceIdentifier=f"{stage.name}-back")["DBInstances"][0]
        return found if found["DBInstanceStatus"] == "available" else {}

    endpoint = wait_until(available, 60, "the restored instance", 0.2)["Endpoint"]
    try:
        return _emails(stage, endpoint, secret)
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=f"{stage.name}-back", SkipFinalSnapshot=True)



def test_delete_data_empties_the_buckets_and_the_last_stage_takes_its_network(tmp_path) -> None:
    """With --delete-data answered yes, the kept buckets are emptied (every version) and deleted; a stage alone
    in its isolation group takes the network stack with it."""
    with provisioned(tmp_path) as alone:
        s3 = alone.client("s3")
        kept = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"oppima-{alone.name}-")]
        s3.put_object(Bucket=kept[0], Key="originals/b.jpg", Body=b"y")
        s3.put_object(Bucket=kept[0], Key="originals/b.jpg", Body=b"z")  # a second version
        done = _answering(alone, "y\n", "destroy", alone.name, "--yes", "--delete-data")
        assert done.exit_code == 0, done.output
        assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"] in kept]
        assert _stack_names(alone) & {stage_stack_name("oppima", alone.name),
                                      network_stack_name("oppima", alone.name)} == set()


class _SlowTermination:
    """Elastic Beanstalk whose environment stays Terminating, its status unchanged, for three polls."""

    def __init__(self) -> None:
        self.polls = 0

    def terminate_environment(self, **_: Any) -> None:
        pass

    def describe_environments(self, **_: Any) -> dict[str, Any]:
        self.polls += 1
        return {"Environments": [{"EnvironmentName": "app-s-web", "Status": "Terminating"}] if self.polls <= 3
                else []}


def test_a_quiet_termination_says_what_it_waits_for(monkeypatch):
    monkeypatch.setattr(aws, "QUIET_SECONDS", 0.0)  # a line at every quiet poll instead of every 15 s
    eb, lines = _SlowTermination(), []
    where = SimpleNamespace(client=lambda _service: eb, application="app", target=SimpleNamespace(poll_seconds=0.01))
    destroy._terminate(where, ["app-s-web"], lines.append)
    assert lines[0].startswith("  app-s-web: Terminating (") and lines[-1].startswith("  app-s-web: Terminated (")
    waiting = [line for line in lines if "waiting for" in line]
    assert len(waiting) == 3 and all(re.fullmatch(r"  \.\.\. \d+s waiting for app-s-web to terminate: "
                                                  r"app-s-web Terminating", line) for line in waiting), lines
