"""The stage's database as RDS has it: the writer DB instance of the stage stack, the settings a restore of
it must take (subnet group, security groups, parameter group, class), and connections to it or to a copy.

The writer is the stack's `Database` resource (provision/data_stores.py); its master credentials are the
secret the stack outputs as DbSecretArn, which a restore keeps (RDS restores the master user of the
snapshot's time). A connection goes straight to an instance's endpoint: in AWS that endpoint is private, so
the data verbs run from a machine inside the stage's VPC that its database security group lets in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pymysql
from botocore.exceptions import ClientError

from eb_tools.errors import DataError
from eb_tools.names import stage_stack_name
from eb_tools.stage.target import StageTarget

WRITER = "Database"  # the writer's logical id in the stage stack
CONNECT_SECONDS = 10


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class StageDatabase:
    """The stage's writer DB instance, as DescribeDBInstances gives it."""

    identifier: str
    engine: str
    engine_version: str
    instance_class: str
    subnet_group: str
    security_groups: tuple[str, ...]
    parameter_group: str | None
    name: str
    endpoint: Endpoint
    secret_arn: str

    @property
    def version(self) -> str:
        return f"{self.engine} {self.engine_version}"


def find(where: StageTarget) -> StageDatabase:
    """The stage's writer instance; a DataError when the stage has none (not provisioned, no database)."""
    stack = stage_stack_name(where.application, where.name)
    cfn = where.client("cloudformation")
    try:
        resource = cfn.describe_stack_resource(StackName=stack, LogicalResourceId=WRITER)["StackResourceDetail"]
        outputs = {o["OutputKey"]: o["OutputValue"]
                   for o in cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
    except (ClientError, KeyError, IndexError) as error:
        raise DataError(f"stage {where.name}: no database in stack {stack} ({error}); provision the stage "
                        "with a database: section first") from None
    described = describe(where, resource["PhysicalResourceId"])
    groups = tuple(g["VpcSecurityGroupId"] for g in described.get("VpcSecurityGroups", []))
    parameters = described.get("DBParameterGroups", [])
    return StageDatabase(
        identifier=described["DBInstanceIdentifier"], engine=described["Engine"],
        engine_version=described["EngineVersion"], instance_class=described["DBInstanceClass"],
        subnet_group=described.get("DBSubnetGroup", {}).get("DBSubnetGroupName", ""), security_groups=groups,
        parameter_group=parameters[0]["DBParameterGroupName"] if parameters else None,
        name=described.get("DBName") or "", endpoint=endpoint_of(described), secret_arn=outputs["DbSecretArn"])


def describe(where: StageTarget, identifier: str) -> dict[str, Any]:
    found: dict[str, Any] = where.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)[
        "DBInstances"][0]
    return found


def endpoint_of(described: dict[str, Any]) -> Endpoint:
    endpoint = described.get("Endpoint") or {}
    return Endpoint(str(endpoint.get("Address", "")), int(endpoint.get("Port", 0)))


def master_credentials(where: StageTarget, database: StageDatabase) -> dict[str, Any]:
    """The stage's database secret: {"username", "password", ...} as its current version holds them."""
    found: dict[str, Any] = json.loads(where.client("secretsmanager").get_secret_value(
        SecretId=database.secret_arn)["SecretString"])
    return found


def connect(where: StageTarget, database: StageDatabase, endpoint: Endpoint) -> pymysql.Connection:
    """A connection to `endpoint` (the writer, or a restored copy) as the master user of the stage's secret."""
    credentials = master_credentials(where, database)
    try:
        return pymysql.connect(host=endpoint.host, port=endpoint.port, user=credentials["username"],
                               password=credentials["password"], database=database.name or None,
                               connect_timeout=CONNECT_SECONDS, autocommit=True)
    except pymysql.MySQLError as error:
        raise DataError(f"cannot connect to {endpoint.host}:{endpoint.port} as {credentials['username']} "
                        f"({error.args[-1]}); run eb_tools db from a machine the stage's database security "
                        "group lets in (inside its VPC)") from None
