"""A local cloud with a data folder runs real data servers behind RDS and ElastiCache.

A stack's DB instance is a MariaDB server with the template's master user and password, its read replica a
second server fed by binary-log replication, its replication group a redis-server requiring the AUTH token
over TLS; all at the endpoints the stack outputs and the services' APIs give. A DB snapshot is a dump of the
server, a restore a new server loaded from it (to a point in time: the binary log replayed up to it), inside
RDS's restore window only. A restore renamed to the writer's name answers at its endpoint. Deleting the stack
stops them;
the next cloud on the same folder finds the data; a server that cannot run fails the stack as CloudFormation
would.
"""
from __future__ import annotations

import datetime
import json
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
import redis
from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.cloud.server import LocalCloud
from tests.cloud_clients import local_client

TOKEN_RESOLVE = "{{resolve:secretsmanager:${Token}}}"
PASSWORD_RESOLVE = "{{resolve:secretsmanager:${Credentials}:SecretString:password}}"


def template(engine_version: str = "10.11.14") -> str:
    return json.dumps({"Resources": {
        "Credentials": {"Type": "AWS::SecretsManager::Secret", "Properties": {"GenerateSecretString": {
            "SecretStringTemplate": json.dumps({"username": "app"}), "GenerateStringKey": "password",
            "PasswordLength": 32, "ExcludeCharacters": "\"@/\\'"}}},
        "Token": {"Type": "AWS::SecretsManager::Secret", "Properties": {"GenerateSecretString": {
            "PasswordLength": 64, "ExcludePunctuation": True}}},
        "Database": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "Engine": "mariadb", "EngineVersion": engine_version, "DBInstanceClass": "db.t4g.micro",
            "AllocatedStorage": "20", "DBName": "app", "MasterUsername": "app",
            "MasterUserPassword": {"Fn::Sub": PASSWORD_RESOLVE}, "Port": "3306"}},
        "Replica": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "SourceDBInstanceIdentifier": {"Ref": "Database"}, "DBInstanceClass": "db.t4g.micro"}},
        "Redis": {"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": {
            "ReplicationGroupDescription": "sessions", "Engine": "redis", "CacheNodeType": "cache.t4g.micro",
            "NumCacheClusters": 1, "TransitEncryptionEnabled": True, "AuthToken": {"Fn::Sub": TOKEN_RESOLVE},
            "Port": 6379}}},
        "Outputs": {
            "DbHost": {"Value": {"Fn::GetAtt": ["Database", "Endpoint.Address"]}},
            "DbPort": {"Value": {"Fn::GetAtt": ["Database", "Endpoint.Port"]}},
            "DbReaderHost": {"Value": {"Fn::GetAtt": ["Replica", "Endpoint.Address"]}},
            "DbReaderPort": {"Value": {"Fn::GetAtt": ["Replica", "Endpoint.Port"]}},
            "RedisHost": {"Value": {"Fn::GetAtt": ["Redis", "PrimaryEndPoint.Address"]}},
            "RedisPort": {"Value": {"Fn::GetAtt": ["Redis", "PrimaryEndPoint.Port"]}},
            "Credentials": {"Value": {"Ref": "Credentials"}}, "Token": {"Value": {"Ref": "Token"}}}})


class Stage:
    """A cloud on a data folder and the stack of data stores in it."""

    def __init__(self, data_dir: Path, stack: str = "") -> None:
        self.cloud = LocalCloud(data_dir=data_dir).start()
        self.stack = stack or f"datastores-{uuid.uuid4().hex[:8]}"  # moto's backends are the process's

    def client(self, service: str) -> Any:
        return local_client(service, self.cloud.url)

    def create(self, body: str) -> dict[str, Any]:
        """The stack, made as `eb_tools provision` makes stacks: a change set, executed."""
        cfn = self.client("cloudformation")
        change_set = cfn.create_change_set(StackName=self.stack, ChangeSetName="create", TemplateBody=body,
                                           ChangeSetType="CREATE")["Id"]
        wait_until(lambda: cfn.describe_change_set(ChangeSetName=change_set)["Status"] == "CREATE_COMPLETE", 30,
                   "the change set")
        cfn.execute_change_set(ChangeSetName=change_set)
        stack = wait_until(lambda: (s := cfn.describe_stacks(StackName=self.stack)["Stacks"][0])["StackStatus"]
                           .endswith(("_COMPLETE", "_FAILED")) and s, 120, "the stack")
        return stack

    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    def secret(self, arn: str) -> str:
        return str(self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])

    def connect(self, host: str, port: str) -> pymysql.Connection:
        credentials = json.loads(self.secret(self.outputs()["Credentials"]))
        return pymysql.connect(host=host, port=int(port), user=credentials["username"],
                               password=credentials["password"], database="app", autocommit=True)


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    made = Stage(tmp_path_factory.mktemp("datastores"))
    stack = made.create(template())
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    yield made
    made.cloud.stop()


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_the_database_answers_at_its_endpoint_with_the_secret_s_credentials(stage: Stage) -> None:
    outputs = stage.outputs()
    ours = stage.stack.lower()  # moto's backends are the process's: other tests' instances are there too
    described = {d["DBInstanceIdentifier"]: d["Endpoint"] for d in stage.client("rds").describe_db_instances()[
        "DBInstances"] if d["DBInstanceIdentifier"].startswith(ours)}
    assert {(e["Address"], str(e["Port"])) for e in described.values()} == {
        (outputs["DbHost"], outputs["DbPort"]), (outputs["DbReaderHost"], outputs["DbReaderPort"])}
    assert outputs["DbHost"] != outputs["DbReaderHost"] and outputs["DbPort"] == outputs["DbReaderPort"] == "3306"
    with stage.connect(outputs["DbHost"], outputs["DbPort"]) as writer, writer.cursor() as cursor:
        cursor.execute("CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))")
        cursor.execute("INSERT INTO notes VALUES (1, 'kept')")
        cursor.execute("SHOW GRANTS")
        grants = " ".join(row[0] for row in cursor.fetchall())
    assert "SUPER" not in grants and "ALL PRIVILEGES" not in grants  # RDS's master user privileges
    with pytest.raises(pymysql.OperationalError):
        pymysql.connect(host=outputs["DbHost"], port=int(outputs["DbPort"]), user="app", password="wrong")


def test_the_replica_follows_the_writer_and_refuses_writes(stage: Stage) -> None:
    outputs = stage.outputs()
    with stage.connect(outputs["DbHost"], outputs["DbPort"]) as writer, writer.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS replicated (id INT PRIMARY KEY)")
        cursor.execute("INSERT INTO replicated VALUES (7)")
    with stage.connect(outputs["DbReaderHost"], outputs["DbReaderPort"]) as reader, reader.cursor() as cursor:
        def arrived() -> bool:
            cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'replicated'")
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT id FROM replicated")
            return cursor.fetchall() == ((7,),)

        wait_until(arrived, 30, "the row on the replica")
        with pytest.raises(pymysql.err.OperationalError, match="read-only"):
            cursor.execute("INSERT INTO replicated VALUES (8)")


def test_redis_requires_the_token_over_tls_trusting_the_cloud_s_ca(stage: Stage) -> None:
    outputs = stage.outputs()
    token = stage.secret(outputs["Token"])
    url = f"rediss://{outputs['RedisHost']}:{outputs['RedisPort']}/0"
    assert stage.cloud.trusted_ca is not None
    trusted = redis.Redis.from_url(url, password=token, ssl_ca_certs=str(stage.cloud.trusted_ca))
    assert trusted.set("k", "v") and trusted.get("k") == b"v"
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(url, ssl_ca_certs=str(stage.cloud.trusted_ca)).get("k")
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        redis.Redis.from_url(url, password=token).get("k")  # a client that does not trust the local CA
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=outputs["RedisHost"], port=int(outputs["RedisPort"]), password=token,
                    socket_timeout=1).get("k")  # no TLS
    groups = stage.client("elasticache").describe_replication_groups()["ReplicationGroups"]
    ours = [g for g in groups if g["ReplicationGroupId"].startswith(stage.stack.lower())]
    primary = ours[0]["NodeGroups"][0]["PrimaryEndpoint"]
    assert len(ours) == 1 and (primary["Address"], str(primary["Port"])) == (outputs["RedisHost"],
                                                                              outputs["RedisPort"])
    assert ssl.get_server_certificate((outputs["RedisHost"], int(outputs["RedisPort"])))


def test_the_redis_token_rotates_as_elasticache_rotates_it(stage: Stage) -> None:
    """ModifyReplicationGroup with a new AuthToken: ROTATE keeps the old token valid beside the new one (an open
    connection is never dropped), SET leaves only the new one; ElastiCache's refusals come first."""
    outputs = stage.outputs()
    old, new = stage.secret(outputs["Token"]), f"rotated-{uuid.uuid4().hex}"
    url = f"rediss://{outputs['RedisHost']}:{outputs['RedisPort']}/0"

    def client(token: str) -> redis.Redis:
        return redis.Redis.from_url(url, password=token, ssl_ca_certs=str(stage.cloud.trusted_ca))

    elasticache = stage.client("elasticache")
    group = next(g["ReplicationGroupId"] for g in elasticache.describe_replication_groups()["ReplicationGroups"]
                 if g["ReplicationGroupId"].startswith(stage.stack.lower()))
    with pytest.raises(ClientError, match="ApplyImmediately"):
        elasticache.modify_replication_group(ReplicationGroupId=group, AuthToken=new,
                                             AuthTokenUpdateStrategy="ROTATE")
    with pytest.raises(ClientError, match="Invalid AuthToken"):
        elasticache.modify_replication_group(ReplicationGroupId=group, AuthToken="short", ApplyImmediately=True,
                                             AuthTokenUpdateStrategy="ROTATE")
    opened = client(old)
    assert opened.ping()
    elasticache.modify_replication_group(ReplicationGroupId=group, AuthToken=new, AuthTokenUpdateStrategy="ROTATE",
                                         ApplyImmediately=True)
    assert client(old).ping() and client(new).ping() and opened.ping()
    elasticache.modify_replication_group(ReplicationGroupId=group, AuthToken=new, AuthTokenUpdateStrategy="SET",
                                         ApplyImmediately=True)
    assert client(new).ping() and opened.ping()  # authenticated before: still served
    with pytest.raises(redis.AuthenticationError):
        client(old).ping()
    described = elasticache.describe_replication_groups(ReplicationGroupId=group)["ReplicationGroups"][0]
    assert described["AuthTokenEnabled"] and "AuthTokenLastModifiedDate" in described


def _writer(stage: Stage) -> str:
    """The identifier of the stack's writer instance."""
    host = stage.outputs()["DbHost"]
    return next(d["DBInstanceIdentifier"] for d in stage.client("rds").describe_db_instances()["DBInstances"]
                if d["Endpoint"]["Address"] == host)


def _restored(stage: Stage, identifier: str) -> dict[str, Any]:
    rds = stage.client("rds")
    return wait_until(lambda: (d := rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])[
        "DBInstanceStatus"] != "creating" and d, 60, f"{identifier} restored")


def _ids(stage: Stage, endpoint: dict[str, Any]) -> list[int]:
    with stage.connect(endpoint["Address"], str(endpoint["Port"])) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM drilled ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_a_snapshot_is_a_dump_a_restore_a_new_server_and_a_point_in_time_replays_the_binary_log(
        stage: Stage) -> None:
    rds, writer, outputs = stage.client("rds"), _writer(stage), stage.outputs()
    with stage.connect(outputs["DbHost"], outputs["DbPort"]) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE drilled (id INT PRIMARY KEY)")
        cursor.execute("INSERT INTO drilled VALUES (1)")
        snapshot = f"{stage.stack}-manual"
        assert rds.create_db_snapshot(DBInstanceIdentifier=writer, DBSnapshotIdentifier=snapshot)["DBSnapshot"][
            "Status"] == "creating"
        wait_until(lambda: rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot)["DBSnapshots"][0]["Status"]
                   == "available", 30, "the snapshot")
        cursor.execute("INSERT INTO drilled VALUES (2)")
        time.sleep(1.1)  # the binary log's events have whole seconds
        between = datetime.datetime.now(datetime.UTC)
        time.sleep(1.1)
        cursor.execute("INSERT INTO drilled VALUES (3)")
    types = {s["SnapshotType"] for s in rds.describe_db_snapshots(DBInstanceIdentifier=writer)["DBSnapshots"]}
    assert types == {"automated", "manual"}
    rds.restore_db_instance_from_db_snapshot(DBSnapshotIdentifier=snapshot, DBInstanceIdentifier=f"{snapshot}-r")
    rds.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=writer, RestoreTime=between,
                                             TargetDBInstanceIdentifier=f"{snapshot}-t")
    from_snapshot, to_time = _restored(stage, f"{snapshot}-r"), _restored(stage, f"{snapshot}-t")
    assert from_snapshot["DBInstanceStatus"] == to_time["DBInstanceStatus"] == "available"
    assert from_snapshot["Endpoint"]["Address"] not in (outputs["DbHost"], to_time["Endpoint"]["Address"])
    assert _ids(stage, from_snapshot["Endpoint"]) == [1] and _ids(stage, to_time["Endpoint"]) == [1, 2]
    for restored in (from_snapshot, to_time):
        rds.delete_db_instance(DBInstanceIdentifier=restored["DBInstanceIdentifier"], SkipFinalSnapshot=True)
        assert not _listening(restored["Endpoint"]["Address"], restored["Endpoint"]["Port"])


def test_a_point_in_time_outside_the_restore_window_is_refused_as_rds_does(stage: Stage) -> None:
    rds, writer = stage.client("rds"), _writer(stage)
    window = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=writer)[
        "DBInstanceAutomatedBackups"][0]["RestoreWindow"]
    with pytest.raises(rds.exceptions.ClientError, match="InvalidRestoreFault.*outside .* restore window"):
        rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier=writer, TargetDBInstanceIdentifier=f"{stage.stack}-early",
            RestoreTime=window["EarliestTime"] - datetime.timedelta(minutes=5))
    assert not any(d["DBInstanceIdentifier"] == f"{stage.stack}-early"
                   for d in rds.describe_db_instances()["DBInstances"])


def test_a_new_master_password_reaches_the_writer_and_its_replica(stage: Stage) -> None:
    """ModifyDBInstance with MasterUserPassword: the writer's server takes it at once, the replica follows
    through the binary log, the old one stops working; RDS's password rule first."""
    outputs, rds = stage.outputs(), stage.client("rds")
    user = json.loads(stage.secret(outputs["Credentials"]))["username"]
    writer = next(d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]
                  if d["Endpoint"]["Address"] == outputs["DbHost"])
    with pytest.raises(ClientError, match="not a valid password"):
        rds.modify_db_instance(DBInstanceIdentifier=writer, MasterUserPassword="has/slash1", ApplyImmediately=True)
    new = f"renewed-{uuid.uuid4().hex[:16]}"
    rds.modify_db_instance(DBInstanceIdentifier=writer, MasterUserPassword=new, ApplyImmediately=True)
    for host in (outputs["DbHost"], outputs["DbReaderHost"]):
        wait_until(lambda host=host: _logs_in(host, outputs["DbPort"], user, new), 30, f"the new password on {host}")
    old = json.loads(stage.secret(outputs["Credentials"]))["password"]
    assert not _logs_in(outputs["DbHost"], outputs["DbPort"], user, old)
    stage.client("secretsmanager").put_secret_value(SecretId=outputs["Credentials"],
                                                    SecretString=json.dumps({"username": user, "password": new}))


def _logs_in(host: str, port: str, user: str, password: str) -> bool:
    try:
        pymysql.connect(host=host, port=int(port), user=user, password=password, connect_timeout=2).close()
        return True
    except pymysql.OperationalError:
        return False


def _status(stage: Stage, identifier: str, wanted: str = "available") -> dict[str, Any]:
    rds = stage.client("rds")
    return wait_until(lambda: (d := rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])[
        "DBInstanceStatus"] == wanted and d, 60, f"{identifier} {wanted}")


def test_a_restore_renamed_to_the_writer_s_name_answers_at_its_endpoint_and_the_next_cloud_finds_its_data(
        tmp_path: Path) -> None:
    """RDS's way to replace a database behind its endpoint (user guide, "Renaming a DB instance"): the writer
    renamed away keeps its replica, at its new name's endpoint; the restored copy renamed to the writer's name
    answers at the writer's endpoint; a name in use is refused. Deleting the stack stops its servers, and the
    next cloud's stack of the same name finds the writer's data: the copy's."""
    first = Stage(tmp_path, stack=f"renamed-{uuid.uuid4().hex[:8]}")
    try:
        assert first.create(template())["StackStatus"] == "CREATE_COMPLETE"
        rds, writer, outputs = first.client("rds"), _writer(first), first.outputs()
        with first.connect(outputs["DbHost"], outputs["DbPort"]) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE drilled (id INT PRIMARY KEY)")
            cursor.execute("INSERT INTO drilled VALUES (1)")
            rds.create_db_snapshot(DBInstanceIdentifier=writer, DBSnapshotIdentifier=f"{first.stack}-s")
            wait_until(lambda: rds.describe_db_snapshots(DBSnapshotIdentifier=f"{first.stack}-s")["DBSnapshots"][0][
                "Status"] == "available", 30, "the snapshot")
            cursor.execute("INSERT INTO drilled VALUES (2)")
        rds.restore_db_instance_from_db_snapshot(DBSnapshotIdentifier=f"{first.stack}-s",
                                                 DBInstanceIdentifier=f"{first.stack}-copy")
        _status(first, f"{first.stack}-copy")
        with pytest.raises(ClientError, match="DBInstanceAlreadyExists"):
            rds.modify_db_instance(DBInstanceIdentifier=f"{first.stack}-copy", NewDBInstanceIdentifier=writer,
                                   ApplyImmediately=True)
        renamed = rds.modify_db_instance(DBInstanceIdentifier=writer, NewDBInstanceIdentifier=f"{first.stack}-old",
                                         ApplyImmediately=True)["DBInstance"]
        assert renamed["DBInstanceStatus"] == "renaming"
        old = _status(first, f"{first.stack}-old")
        assert old["Endpoint"]["Address"] != outputs["DbHost"] and _ids(first, old["Endpoint"]) == [1, 2]
        rds.modify_db_instance(DBInstanceIdentifier=f"{first.stack}-copy", NewDBInstanceIdentifier=writer,
                               ApplyImmediately=True)
        _status(first, writer)
        assert _ids(first, {"Address": outputs["DbHost"], "Port": outputs["DbPort"]}) == [1]
        [replica] = old["ReadReplicaDBInstanceIdentifiers"]  # the old writer's, following it to its new endpoint
        with first.connect(old["Endpoint"]["Address"], old["Endpoint"]["Port"]) as connection, \
                connection.cursor() as cursor:
            cursor.execute("INSERT INTO drilled VALUES (3)")
        reader = {"Address": outputs["DbReaderHost"], "Port": outputs["DbReaderPort"]}
        wait_until(lambda: _ids(first, reader) == [1, 2, 3], 20, f"replica {replica} following the renamed writer")
        cfn = first.client("cloudformation")
        cfn.delete_stack(StackName=first.stack)
        wait_until(lambda: not any(s["StackName"] == first.stack for s in cfn.list_stacks(
            StackStatusFilter=["CREATE_COMPLETE", "DELETE_IN_PROGRESS"])["StackSummaries"]), 60, "the deletion")
        for host, port in ((outputs["DbHost"], outputs["DbPort"]), (outputs["DbReaderHost"], outputs["DbPort"]),
                           (outputs["RedisHost"], outputs["RedisPort"])):
            assert not _listening(host, int(port)), f"{host}:{port} still listens after the stack was deleted"
    finally:
        first.cloud.stop()
    second = Stage(tmp_path, stack=first.stack)  # the next run's cloud: a new stack, new generated passwords
    try:
        assert second.create(template())["StackStatus"] == "CREATE_COMPLETE"
        outputs = second.outputs()
        assert _ids(second, {"Address": outputs["DbHost"], "Port": outputs["DbPort"]}) == [1]
    finally:
        second.cloud.stop()


def test_an_engine_this_machine_cannot_run_fails_the_stack(tmp_path: Path) -> None:
    stage = Stage(tmp_path)
    try:
        stack = stage.create(template(engine_version="11.4.5"))
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = stage.client("cloudformation").describe_stack_events(StackName=stage.stack)["StackEvents"]
        reasons = " ".join(e.get("ResourceStatusReason", "") for e in events if e["ResourceStatus"] == "CREATE_FAILED")
        assert "mariadb 11.4.5 cannot run on this machine" in reasons and "engine_version 10.11" in reasons
        assert not list((tmp_path / "rds").glob("*/data/mysql"))  # refused before any server was made
    finally:
        stage.cloud.stop()
