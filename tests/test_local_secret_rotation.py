"""The local cloud rotates a database secret as Secrets Manager's hosted rotation does, for real.

A stack declaring the AWS::SecretsManager transform gets a rotation schedule whose hosted MariaDB single-user
function runs in the local Secrets Manager: RotateSecret changes the password of the real MariaDB server the
secret names (its read replica following), moves AWSCURRENT and AWSPREVIOUS, and logs as the Lambda function
would; a failed step leaves AWSPENDING, which the next RotateSecret reattempts; a schedule falls due on the
cloud's clock. The transform needs CAPABILITY_AUTO_EXPAND and other transforms are refused, as CloudFormation
does.
"""
from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.cloud.server import LocalCloud
from tests.cloud_clients import local_client

TRANSFORM = "AWS::SecretsManager-2024-09-16"
PASSWORD_RESOLVE = "{{resolve:secretsmanager:${Credentials}:SecretString:password}}"
DAY = 86_400.0


def resources(function: str) -> dict[str, Any]:
    """A secret, a MariaDB writer with a replica, the attachment and a hosted rotation schedule in a VPC."""
    getatt = {"Fn::GetAtt": ["FunctionGroup", "GroupId"]}
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
        "Private": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24"}},
        "FunctionGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "GroupDescription": "rotation function"}},
        "Credentials": {"Type": "AWS::SecretsManager::Secret", "Properties": {"GenerateSecretString": {
            "SecretStringTemplate": json.dumps({"username": "app"}), "GenerateStringKey": "password",
            "PasswordLength": 32, "ExcludeCharacters": "\"@/\\'"}}},
        "Database": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "Engine": "mariadb", "EngineVersion": "10.11.14", "DBInstanceClass": "db.t4g.micro",
            "AllocatedStorage": "20", "DBName": "app", "MasterUsername": "app", "BackupRetentionPeriod": 1,
            "MasterUserPassword": {"Fn::Sub": PASSWORD_RESOLVE}, "Port": "3306"}},
        "Replica": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "SourceDBInstanceIdentifier": {"Ref": "Database"}, "DBInstanceClass": "db.t4g.micro"}},
        "Attachment": {"Type": "AWS::SecretsManager::SecretTargetAttachment", "Properties": {
            "SecretId": {"Ref": "Credentials"}, "TargetId": {"Ref": "Database"}, "TargetType": "AWS::RDS::DBInstance"}},
        "Schedule": {"Type": "AWS::SecretsManager::RotationSchedule", "DependsOn": ["Attachment"], "Properties": {
            "SecretId": {"Ref": "Credentials"}, "RotateImmediatelyOnUpdate": False,
            "RotationRules": {"AutomaticallyAfterDays": 30},
            "HostedRotationLambda": {"RotationType": "MariaDBSingleUser", "RotationLambdaName": function,
                                     "ExcludeCharacters": "\"@/\\'", "VpcSubnetIds": {"Ref": "Private"},
                                     "VpcSecurityGroupIds": getatt}}}}


class Rotating:
    """A cloud with a data folder and the stack of a rotating database secret in it."""

    def __init__(self, data_dir: Path) -> None:
        self.cloud = LocalCloud(data_dir=data_dir).start()
        self.stack = f"rotation-{uuid.uuid4().hex[:8]}"  # moto's backends are the process's
        self.function = f"{self.stack}-db-rotation"
        self.secrets = self.client("secretsmanager")

    def client(self, service: str) -> Any:
        return local_client(service, self.cloud.url)

    def deploy(self, stack: str, template: dict[str, Any], capabilities: list[str]) -> dict[str, Any]:
        """A stack made as `eb_tools provision` makes it: a change set, executed; its description."""
        cfn = self.client("cloudformation")
        change_set = cfn.create_change_set(StackName=stack, ChangeSetName="create", ChangeSetType="CREATE",
                                           TemplateBody=json.dumps(template), Capabilities=capabilities)["Id"]
        wait_until(lambda: cfn.describe_change_set(ChangeSetName=change_set)["Status"] == "CREATE_COMPLETE", 30,
                   "the change set")
        cfn.execute_change_set(ChangeSetName=change_set)
        return wait_until(lambda: (s := cfn.describe_stacks(StackName=stack)["Stacks"][0])["StackStatus"]
                          .endswith(("_COMPLETE", "_FAILED")) and s, 120, "the stack")

    def physical(self, logical: str) -> str:
        resources = self.client("cloudformation").describe_stack_resources(StackName=self.stack)["StackResources"]
        return next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == logical)

    @functools.cached_property
    def arn(self) -> str:
        return self.physical("Credentials")

    def endpoint(self, logical: str) -> dict[str, Any]:
        [found] = self.client("rds").describe_db_instances(DBInstanceIdentifier=self.physical(logical))["DBInstances"]
        return dict(found["Endpoint"])

    def value(self, stage: str = "AWSCURRENT") -> dict[str, Any]:
        return dict(json.loads(self.secrets.get_secret_value(SecretId=self.arn, VersionStage=stage)["SecretString"]))

    def stages(self) -> dict[str, list[str]]:
        return dict(self.secrets.describe_secret(SecretId=self.arn)["VersionIdsToStages"])

    def log(self) -> str:
        events = self.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{self.function}")["events"]
        return "\n".join(e["message"] for e in events)


def login(secret: dict[str, Any], host: str | None = None, port: int | None = None) -> bool:
    """Whether the server takes the secret's password (error 1045 when it does not)."""
    try:
        pymysql.connect(host=host or secret["host"], port=int(port or secret["port"]), user=secret["username"],
                        password=secret["password"], connect_timeout=5).close()
        return True
    except pymysql.OperationalError as error:
        assert error.args[0] == 1045, error
        return False


def set_password(secret: dict[str, Any], password: str) -> None:
    """Change the master user's password behind the secret's back (as someone by hand would)."""
    with pymysql.connect(host=secret["host"], port=int(secret["port"]), user=secret["username"],
                         password=secret["password"]) as connection, connection.cursor() as cursor:
        cursor.execute("SET PASSWORD = PASSWORD(%s)", (password,))


@pytest.fixture(scope="module")
def rotating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rotating]:
    made = Rotating(tmp_path_factory.mktemp("rotation"))
    stack = made.deploy(made.stack, {"Transform": TRANSFORM, "Resources": resources(made.function)},
                        ["CAPABILITY_AUTO_EXPAND"])
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    yield made
    made.cloud.stop()


def test_the_schedule_is_the_secret_s_and_the_secret_names_its_database(rotating: Rotating) -> None:
    described = rotating.secrets.describe_secret(SecretId=rotating.arn)
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"].endswith(f":function:{rotating.function}")
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    ahead = described["NextRotationDate"].timestamp() - time.time()
    assert 30 * DAY - 60 < ahead <= 30 * DAY
    assert "LastRotatedDate" not in described  # RotateImmediatelyOnUpdate false: no rotation yet
    secret, writer = rotating.value(), rotating.endpoint("Database")
    assert (secret["engine"], secret["host"], secret["port"], secret["dbInstanceIdentifier"]) == (
        "mariadb", writer["Address"], writer["Port"], rotating.physical("Database"))
    assert login(secret)


def test_rotate_secret_changes_the_real_password_and_the_replica_follows(rotating: Rotating) -> None:
    before = rotating.value()
    version = rotating.secrets.rotate_secret(SecretId=rotating.arn)["VersionId"]
    stages = rotating.stages()
    assert stages[version] == ["AWSCURRENT"]  # AWSPENDING gone once finishSecret moved AWSCURRENT
    assert [v for v, labels in stages.items() if "AWSPREVIOUS" in labels] == [
        rotating.secrets.get_secret_value(SecretId=rotating.arn, VersionStage="AWSPREVIOUS")["VersionId"]]
    after = rotating.value()
    assert after["password"] != before["password"] and rotating.value("AWSPREVIOUS") == before
    assert not set(after["password"]) & set("\"@/\\'")  # the function's ExcludeCharacters
    assert login(after) and not login(before)
    replica = rotating.endpoint("Replica")
    wait_until(lambda: login(after, replica["Address"], replica["Port"]), 10, "the replica taking the password")
    assert not login(before, replica["Address"], replica["Port"])
    assert rotating.secrets.describe_secret(SecretId=rotating.arn)["LastRotatedDate"].timestamp() > time.time() - 60
    log = rotating.log()
    assert "finishSecret: Successfully set AWSCURRENT stage to version" in log and "[ERROR]" not in log


def test_a_failed_rotation_leaves_its_pending_version_which_the_next_one_reattempts(rotating: Rotating) -> None:
    current = rotating.value()
    set_password(current, "changed-by-hand-1")  # the function can log in with no version of the secret now
    version = rotating.secrets.rotate_secret(SecretId=rotating.arn)["VersionId"]  # it answers: asynchronous
    assert rotating.stages()[version] == ["AWSPENDING"] and rotating.value() == current
    assert "[ERROR] ValueError: Unable to log into database with previous, current, or pending secret" in \
        rotating.log()
    pending = rotating.value("AWSPENDING")
    set_password({**current, "password": "changed-by-hand-1"}, current["password"])  # repaired
    with pytest.raises(ClientError) as refused:
        rotating.secrets.rotate_secret(SecretId=rotating.arn)
    assert refused.value.response["Error"] == {
        "Code": "InvalidRequestException",
        "Message": "A previous rotation isn't complete. That rotation will be reattempted."}
    assert rotating.stages()[version] == ["AWSCURRENT"] and rotating.value() == pending  # reattempted: the same
    assert login(pending) and not login(current)


def test_a_schedule_that_falls_due_rotates_on_the_cloud_s_clock(rotating: Rotating) -> None:
    before = rotating.value()
    rotating.cloud.rotation_clock.day_seconds = 0.01  # 30 days: 0.3 s
    try:
        time.sleep(0.4)
        rotating.cloud.run_due_rotations("us-east-1")  # as Secrets Manager does on its own
    finally:
        rotating.cloud.rotation_clock.day_seconds = DAY
    after = rotating.value()
    assert after["password"] != before["password"] and login(after) and not login(before)
    described = rotating.secrets.describe_secret(SecretId=rotating.arn)
    assert described["NextRotationDate"].timestamp() - described["LastRotatedDate"].timestamp() == \
        pytest.approx(30 * DAY, abs=1)
    rotating.cloud.rotation_clock.day_seconds = 0.01
    try:
        time.sleep(0.4)
        due = rotating.secrets.get_secret_value(SecretId=rotating.arn)  # any request runs what is due first
    finally:
        rotating.cloud.rotation_clock.day_seconds = DAY
    assert json.loads(due["SecretString"])["password"] != after["password"]


def test_rotate_secret_without_a_rotation_function_is_refused(rotating: Rotating) -> None:
    plain = rotating.secrets.create_secret(Name=f"plain-{uuid.uuid4().hex[:8]}", SecretString="x")["ARN"]
    with pytest.raises(ClientError) as refused:
        rotating.secrets.rotate_secret(SecretId=plain)
    assert refused.value.response["Error"]["Message"] == \
        "No Lambda rotation function ARN is associated with this secret."
    assert rotating.secrets.get_secret_value(SecretId=plain)["SecretString"] == "x"  # moto made it valueless


def test_the_transform_needs_its_capability_and_others_are_refused(rotating: Rotating) -> None:
    cfn, name = rotating.client("cloudformation"), f"expand-{uuid.uuid4().hex[:8]}"
    secret = {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": json.dumps({
        "engine": "mariadb", "host": "127.0.0.1", "username": "u", "password": "p"})}}
    schedule = {"Type": "AWS::SecretsManager::RotationSchedule", "Properties": {
        "SecretId": {"Ref": "Secret"}, "RotationRules": {"AutomaticallyAfterDays": 7},
        "HostedRotationLambda": {"RotationType": "MariaDBSingleUser"}}}
    template = {"Transform": TRANSFORM, "Resources": {"Secret": secret, "Schedule": schedule}}
    stack = rotating.deploy(name, template, ["CAPABILITY_IAM"])  # a change set takes it; its execution does not
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [e for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
                if e["ResourceStatus"] == "CREATE_FAILED"]
    assert (failed["LogicalResourceId"], failed["ResourceStatusReason"]) == (
        "Schedule", "Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
    with pytest.raises(ClientError) as refused:
        cfn.create_stack(StackName=f"{name}-direct", TemplateBody=json.dumps(template))
    assert refused.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    assert refused.value.response["Error"]["Message"] == "Requires capabilities : [CAPABILITY_AUTO_EXPAND]"
    for transform in ("AWS::Serverless-2016-10-31", None):  # SAM cannot be expanded; HostedRotationLambda needs one
        body = {**({"Transform": transform} if transform else {}),
                "Resources": {"Secret": secret, "Schedule": schedule}}
        with pytest.raises(ClientError) as refused:
            cfn.create_change_set(StackName=f"{name}-other", ChangeSetName="c", ChangeSetType="CREATE",
                                  TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_AUTO_EXPAND"])
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert (transform or "HostedRotationLambda (Schedule) needs") in refused.value.response["Error"]["Message"]


def test_one_endpoint_per_service_answers_for_its_name_in_a_vpc(rotating: Rotating) -> None:
    endpoint = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "VpcEndpointType": "Interface", "PrivateDnsEnabled": True,
        "ServiceName": "com.amazonaws.us-east-1.secretsmanager", "SubnetIds": [{"Ref": "Private"}]}}
    template = {"Resources": {"Vpc": resources("")["Vpc"], "Private": resources("")["Private"], "One": endpoint,
                              "Two": {**endpoint, "DependsOn": ["One"]}}}
    name = f"endpoints-{uuid.uuid4().hex[:8]}"
    assert rotating.deploy(name, template, [])["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [e for e in rotating.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
                if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Two"
    assert "private-dns-enabled cannot be set because there is already a conflicting DNS domain for " \
           "secretsmanager.us-east-1.amazonaws.com in the VPC" in failed["ResourceStatusReason"]
