"""`eb_tools db snapshot | snapshots | restore --drill | restore --into` against a stage provisioned into a
local cloud whose database is a real MariaDB with a replica: the app's migrations and models write real rows, a
snapshot records their figures, later rows must not come back, a point in time brings back exactly what was
there, a restore into the stage replaces the data behind the endpoints the apps know, bad input is one line.
"""
from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pytest
import yaml
from click.testing import CliRunner, Result

from core import db, migrate
from core.models import User
from core.settings import Settings
from eb_tools.cli import main
from eb_tools.cloud.server import LocalCloud
from eb_tools.names import stage_stack_name
from tests.cloud_clients import local_client

ROOT = Path(__file__).resolve().parent.parent


class Drilled:
    """A stage of its own (moto's backends are the process's) in a cloud that runs data servers."""

    def __init__(self, folder: Path, replicas: int = 0) -> None:
        self.name = f"drill{uuid.uuid4().hex[:6]}"
        shipped = yaml.safe_load((ROOT / "eb_tools.yaml").read_text())
        # Its own sender too: SES refuses a second identity of one address in an account, as the stacks of two
        # stages in one process (one moto) would make.
        stage = {**shipped["stages"]["local"], "isolation": self.name,
                 "mail": {"from": f"no-reply@{self.name}.example.com"}}
        stage["database"] = {**stage["database"], "read_replicas": replicas, "restore_goal_minutes": 2}
        self.file = folder / "eb_tools.yaml"
        self.file.write_text(yaml.safe_dump({**shipped, "stages": {self.name: stage}}))
        self.cloud = LocalCloud(data_dir=folder / "stores", eb_transition_seconds=0.05).start()

    def eb_tools(self, *words: str) -> Result:
        return CliRunner().invoke(main, [*words, "--file", str(self.file)],
                                  env={"AWS_ENDPOINT_URL": self.cloud.url, "AWS_DEFAULT_REGION": "us-east-1",
                                       "EB_TOOLS_POLL_SECONDS": "0.2"})

    def client(self, service: str) -> Any:
        return local_client(service, self.cloud.url)

    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=stage_stack_name("oppima", self.name))
        return {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}

    def emails(self, endpoint: dict[str, Any]) -> list[str]:
        """The users' addresses in the database at `endpoint`, read as the master user of the stage's secret."""
        credentials = json.loads(self.client("secretsmanager").get_secret_value(
            SecretId=self.outputs()["DbSecretArn"])["SecretString"])
        with pymysql.connect(host=endpoint["Address"], port=endpoint["Port"], database="app",
                             user=credentials["username"], password=credentials["password"]) as connection, \
                connection.cursor() as cursor:
            cursor.execute("SELECT email FROM users ORDER BY email")
            return [row[0] for row in cursor.fetchall()]

    def app_database(self) -> db.Database:
        """The app's engines at the stage's database, as its instances get them."""
        outputs = self.outputs()
        return db.from_settings(Settings.from_env({
            "STAGE": self.name, "DB_HOST": outputs["DbHost"], "DB_PORT": outputs["DbPort"],
            "DB_SECRET_ARN": outputs["DbSecretArn"], "AWS_ENDPOINT_URL": self.cloud.url, "SECRET_KEY": "k",
            "AWS_REGION": "us-east-1"}))

    def hold_the_lock(self) -> None:
        """The stage's release lock, as a deploy running elsewhere holds it."""
        bucket = self.client("elasticbeanstalk").create_storage_location()["S3Bucket"]
        now = datetime.datetime.now(datetime.UTC)
        self.client("s3").put_object(Bucket=bucket, Key=f"eb_tools/oppima/{self.name}/release.lock", Body=json.dumps(
            {"what": "deploy v9", "by": "ci", "since": now.isoformat(),
             "until": (now + datetime.timedelta(minutes=5)).isoformat()}).encode())

    def release_the_lock(self) -> None:
        bucket = self.client("elasticbeanstalk").create_storage_location()["S3Bucket"]
        self.client("s3").delete_object(Bucket=bucket, Key=f"eb_tools/oppima/{self.name}/release.lock")

    def sign_up(self, database: db.Database, *emails: str) -> None:
        with database.write() as session:
            session.add_all(User(email=email, password_hash="x") for email in emails)


@contextmanager
def provisioned(folder: Path, replicas: int = 0) -> Iterator[Drilled]:
    """A drill stage provisioned into a cloud of its own, which stops when the block ends."""
    made = Drilled(folder, replicas)
    try:
        done = made.eb_tools("provision", made.name, "--yes")
        assert done.exit_code == 0, done.output
        yield made
    finally:
        made.cloud.stop()


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drilled]:
    with provisioned(tmp_path_factory.mktemp("drill"), replicas=1) as made:
        yield made


def _drill(stage: Drilled, *words: str) -> tuple[Result, dict[str, Any]]:
    result = stage.eb_tools("db", "restore", stage.name, "--drill", "--output", "json", *words)
    return result, json.loads(result.output) if result.output.startswith("{") else {}


def test_a_snapshot_of_the_app_s_data_restores_with_its_figures_and_the_drill_cleans_up(stage: Drilled) -> None:
    database = stage.app_database()
    try:
        migrate.upgrade(database)
        stage.sign_up(database, "ada@example.com", "bob@example.com")
        taken = stage.eb_tools("db", "snapshot", stage.name)
        assert taken.exit_code == 0, taken.output
        assert "available; recorded schema revision" in taken.output, taken.output
        stage.sign_up(database, "late@example.com")  # after the snapshot: must not come back
    finally:
        database.dispose()
    listed = json.loads(stage.eb_tools("db", "snapshots", stage.name, "--output", "json").output)
    manual = [s for s in listed if s["type"] == "manual"]
    assert {s["type"] for s in listed} == {"automated", "manual"} and len(manual) == 1
    assert manual[0]["id"].startswith(f"{stage.name}-") and manual[0]["row_counts"]["users"] == [2, 2]
    result, report = _drill(stage)
    assert result.exit_code == 0 and report["passed"] and report["compared"], result.output
    assert [s["step"] for s in report["steps"]] == ["restore", "verify", "delete"]
    assert report["source"] == f"snapshot {manual[0]['id']}" and report["total_seconds"] < 120
    ours = [d["DBInstanceIdentifier"] for d in stage.client("rds").describe_db_instances()["DBInstances"]]
    assert report["instance"] not in ours  # deleted: no drill instance left behind


def test_a_drill_fails_when_the_restored_data_is_not_what_was_recorded(stage: Drilled) -> None:
    rds = stage.client("rds")
    snapshot = next(s for s in json.loads(stage.eb_tools("db", "snapshots", stage.name, "--output", "json").output)
                    if s["type"] == "manual")["id"]
    arn = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot)["DBSnapshots"][0]["DBSnapshotArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "eb-tools:rows:users", "Value": "5"}])
    try:
        result, report = _drill(stage, "--snapshot", snapshot)
    finally:
        rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "eb-tools:rows:users", "Value": "2"}])
    assert result.exit_code == 1 and not report["passed"]
    assert report["problems"] == ["table users has 2 rows, recorded 5"]


def test_a_point_in_time_drill_brings_back_what_was_there_then(stage: Drilled) -> None:
    time.sleep(1.1)  # the binary log's events have whole seconds
    then = datetime.datetime.now(datetime.UTC)
    time.sleep(1.1)
    result, report = _drill(stage, "--time", then.isoformat(), "--keep")
    assert result.exit_code == 0 and report["passed"] and not report["compared"], result.output
    kept = stage.client("rds").describe_db_instances(DBInstanceIdentifier=report["instance"])["DBInstances"][0]
    try:
        assert stage.emails(kept["Endpoint"]) == ["ada@example.com", "bob@example.com", "late@example.com"]
    finally:
        stage.client("rds").delete_db_instance(DBInstanceIdentifier=report["instance"], SkipFinalSnapshot=True)


@pytest.mark.parametrize(("words", "expected"), [
    pytest.param(("--snapshot", "{other}"), "is of DB instance {other_instance}, not of stage", id="other-stage"),
    pytest.param(("--time", "2020-01-01T00:00:00Z"), "is outside stage {stage}'s restore window", id="old-time"),
    pytest.param(("--snapshot", "{upgraded}"), "is mariadb 10.11.14, stage {stage} runs mariadb 10.11.15",
                 id="engine-version"),
])
def test_bad_input_is_one_line_and_restores_nothing(stage: Drilled, words: tuple[str, ...], expected: str) -> None:
    rds = stage.client("rds")
    writer = next(d for d in rds.describe_db_instances()["DBInstances"]
                  if d["DBInstanceIdentifier"].startswith(f"oppima-{stage.name}-resources-database"))
    names = {"stage": stage.name, "other": f"{stage.name}-other", "other_instance": f"{stage.name}-elsewhere",
             "upgraded": f"{stage.name}-before-upgrade"}
    if words[1] == "{other}":  # a snapshot of another stage's instance (a record-only one will do)
        rds.create_db_instance(DBInstanceIdentifier=names["other_instance"], Engine="mariadb",
                               EngineVersion="10.11.14", DBInstanceClass="db.t4g.micro", MasterUsername="app",
                               MasterUserPassword="password123", AllocatedStorage=20)
        rds.create_db_snapshot(DBInstanceIdentifier=names["other_instance"], DBSnapshotIdentifier=names["other"])
    if words[1] == "{upgraded}":  # a snapshot from before the stage's engine was upgraded
        rds.create_db_snapshot(DBInstanceIdentifier=writer["DBInstanceIdentifier"],
                               DBSnapshotIdentifier=names["upgraded"])
        rds.modify_db_instance(DBInstanceIdentifier=writer["DBInstanceIdentifier"], EngineVersion="10.11.15",
                               ApplyImmediately=True)
    before = {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]}
    try:
        result = stage.eb_tools("db", "restore", stage.name, "--drill", *(w.format(**names) for w in words))
    finally:
        rds.modify_db_instance(DBInstanceIdentifier=writer["DBInstanceIdentifier"], EngineVersion="10.11.14",
                               ApplyImmediately=True)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and expected.format(**names) in result.output, result.output
    assert {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]} == before


def _endpoint(stage: Drilled, role: str) -> dict[str, Any]:
    outputs = stage.outputs()
    return {"Address": outputs[f"Db{role}Host"], "Port": int(outputs["DbPort"])}


def _replicated(stage: Drilled, expected: list[str]) -> list[str]:
    deadline = time.monotonic() + 20
    while (found := stage.emails(_endpoint(stage, "Reader"))) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_restore_into_replaces_the_database_behind_the_endpoint_the_apps_know(stage: Drilled) -> None:
    """The writer's and the reader's endpoints (the stack's outputs, which the apps are given) lead to the
    restored data, with the stage's secret; the instance replaced is kept with what was written after."""
    database = stage.app_database()
    try:
        migrate.upgrade(database)
        before = stage.emails(_endpoint(stage, ""))
        taken = stage.eb_tools("db", "snapshot", stage.name)
        assert taken.exit_code == 0, taken.output
        stage.sign_up(database, "after-snapshot@example.com")
    finally:
        database.dispose()
    snapshot = taken.output.split("snapshot ", 1)[1].split()[0]
    dry = stage.eb_tools("db", "restore", stage.name, "--into", stage.name, "--snapshot", snapshot, "--dry-run")
    assert dry.exit_code == 0 and "rename" in dry.output and "dry run: nothing restored" in dry.output, dry.output
    assert "after-snapshot@example.com" in stage.emails(_endpoint(stage, ""))
    done = stage.eb_tools("db", "restore", stage.name, "--into", stage.name, "--snapshot", snapshot, "--yes")
    assert done.exit_code == 0, done.output
    assert stage.emails(_endpoint(stage, "")) == before
    assert _replicated(stage, before) == before
    rds = stage.client("rds")
    kept = next(d for d in rds.describe_db_instances()["DBInstances"] if "-replaced-" in d["DBInstanceIdentifier"])
    assert "after-snapshot@example.com" in stage.emails(kept["Endpoint"])
    assert kept["ReadReplicaDBInstanceIdentifiers"] == []  # its replica was replaced by one of the restored copy
    database = stage.app_database()  # the apps' engines log in with the secret they are given, as before
    try:
        with database.write() as session:
            assert sorted(u.email for u in session.query(User)) == before
    finally:
        database.dispose()
    rds.delete_db_instance(DBInstanceIdentifier=kept["DBInstanceIdentifier"], SkipFinalSnapshot=True)


@pytest.mark.parametrize(("words", "expected"), [
    pytest.param(("--drill", "--into", "{stage}"), "give --drill", id="both"),
    pytest.param(("--into", "{stage}", "--confirm", "other"), "--confirm other does not name the stage",
                 id="wrong-confirm"),
    pytest.param(("--into", "{stage}", "--snapshot", "{stage}-missing", "--yes"), "no DB snapshot", id="missing"),
])
def test_restore_into_bad_input_is_one_line(stage: Drilled, words: tuple[str, ...], expected: str) -> None:
    rds = stage.client("rds")
    before = {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]}
    result = stage.eb_tools("db", "restore", stage.name, *(w.format(stage=stage.name) for w in words))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and expected in result.output, result.output
    assert {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]} == before


@pytest.mark.parametrize("words", [("secrets", "rotate", "{stage}", "database"),
                                   ("db", "restore", "{stage}", "--into", "{stage}", "--yes")],
                         ids=["rotate", "restore-into"])
def test_a_rotation_or_a_restore_while_a_release_holds_the_lock_is_one_line(stage: Drilled,
                                                                              words: tuple[str, ...]) -> None:
    secret = stage.client("secretsmanager").get_secret_value(SecretId=stage.outputs()["DbSecretArn"])
    instances = {d["DBInstanceIdentifier"] for d in stage.client("rds").describe_db_instances()["DBInstances"]}
    stage.hold_the_lock()
    try:
        result = stage.eb_tools(*(w.format(stage=stage.name) for w in words))
    finally:
        stage.release_the_lock()
    assert result.exit_code == 1 and "another release is running (deploy v9" in result.output, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error:")] == \
        [result.output.splitlines()[-1]]
    after = stage.client("secretsmanager").get_secret_value(SecretId=stage.outputs()["DbSecretArn"])
    assert after["VersionId"] == secret["VersionId"]
    assert {d["DBInstanceIdentifier"] for d in stage.client("rds").describe_db_instances()["DBInstances"]} == instances


def test_a_poll_interval_that_is_not_seconds_is_one_line(stage: Drilled) -> None:
    result = CliRunner().invoke(main, ["db", "snapshots", stage.name, "--file", str(stage.file)],
                                env={"AWS_ENDPOINT_URL": stage.cloud.url, "EB_TOOLS_POLL_SECONDS": "soon"})
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "EB_TOOLS_POLL_SECONDS=soon: give seconds between 0.05 and 60" in result.output, result.output


def _logs_in(secret: dict[str, Any]) -> bool:
    """Whether the stage's database takes the secret's password (1045 when it does not)."""
    try:
        pymysql.connect(host=secret["host"], port=int(secret["port"]), user=secret["username"],
                        password=secret["password"], connect_timeout=5).close()
        return True
    except pymysql.OperationalError as error:
        assert error.args[0] == 1045, error
        return False


def _set_password(secret: dict[str, Any], password: str) -> None:
    with pymysql.connect(host=secret["host"], port=int(secret["port"]), user=secret["username"],
                         password=secret["password"]) as connection, connection.cursor() as cursor:
        cursor.execute("SET PASSWORD = PASSWORD(%s)", (password,))


def test_secrets_rotate_database_runs_the_stage_s_rotation_function_or_rotates_by_hand_without_one(
        stage: Drilled) -> None:
    """The stage's schedule (rotation_days' default) makes the command call RotateSecret and wait for it; a
    rotation that fails is one line naming the function's logs; a secret whose rotation is off is rotated by
    hand (ModifyDBInstance). Last in the module: it changes the stage's password."""
    secrets, arn = stage.client("secretsmanager"), stage.outputs()["DbSecretArn"]

    def current() -> dict[str, Any]:
        return dict(json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"]))

    function, before = f"oppima-{stage.name}-db-rotation", current()
    planned = stage.eb_tools("secrets", "rotate", stage.name, "database", "--dry-run")
    assert planned.exit_code == 0 and f"RotateSecret (the stage's hosted rotation function, {function})" in \
        planned.output, planned.output
    assert current() == before
    done = stage.eb_tools("secrets", "rotate", stage.name, "database")
    assert done.exit_code == 0 and "the secret's current version is the new password" in done.output, done.output
    rotated = current()
    assert rotated["password"] != before["password"] and _logs_in(rotated) and not _logs_in(before)
    _set_password(rotated, "changed-by-hand-3")  # the function can log in with no version of the secret
    try:
        failed = stage.eb_tools("secrets", "rotate", stage.name, "database")
    finally:
        _set_password({**rotated, "password": "changed-by-hand-3"}, rotated["password"])
    [error] = [line for line in failed.output.splitlines() if line.startswith("Error:")]  # after the plan
    assert failed.exit_code == 1 and failed.output.endswith(f"{error}\n"), failed.output
    assert "ValueError: Unable to log into database with previous, current, or pending secret" in error
    assert error.endswith(f"see the function's logs: aws logs tail /aws/lambda/{function} --since 1h")
    secrets.cancel_rotate_secret(SecretId=arn)  # no schedule: the command rotates by hand
    planned = stage.eb_tools("secrets", "rotate", stage.name, "database", "--dry-run")
    assert "set by RDS (ModifyDBInstance)" in planned.output and "RotateSecret" not in planned.output
    assert stage.eb_tools("secrets", "rotate", stage.name, "database").exit_code == 0
    assert current()["password"] != rotated["password"] and _logs_in(current()) and not _logs_in(rotated)
