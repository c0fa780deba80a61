"""RDS (MariaDB/MySQL, with read replicas) and ElastiCache Redis in the private subnets.

The master credentials are a secret Secrets Manager generates (JSON username and
password, as the app reads DB_SECRET_ARN); CloudFormation hands the password to
RDS through a dynamic reference, so nobody sees it in a template or an
environment property. Not RDS's own managed password: RDS refuses to create a
read replica of a source whose password it manages (RDS user guide,
"Limitations for Secrets Manager integration"). Redis requires TLS and an AUTH
token read the same way from a generated secret.
Both keep a final snapshot when removed or replaced.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.elasticache import ReplicationGroup
from troposphere.elasticache import SubnetGroup as CacheSubnetGroup
from troposphere.iam import Role
from troposphere.rds import DBInstance, DBSubnetGroup
from troposphere.secretsmanager import GenerateSecretString, Secret

from eb_tools.provision.common import (
    CMK_SKIP,
    MYSQL_PORT,
    REDIS_PORT,
    RETAIN,
    SNAPSHOT,
    assume_role,
    keep_data,
    skip_checkov,
)
from eb_tools.stage_file import Database, Redis

DB_NAME = "app"
DB_USER = "app"
REDIS_ENGINE_VERSION = "7.1"
MONITORING_SECONDS = 60
# The slow-query and error logs go to CloudWatch Logs (the audit log needs an option group).
DB_LOGS = ["error", "slowquery"]
# Never in a generated master password: RDS refuses / @ " (and space), and quotes or backslashes in it trouble
# every shell and connection string it passes through. The rotation function generates with the same.
EXCLUDED_CHARACTERS = "\"@/\\'"


@dataclass(frozen=True)
class DatabaseParts:
    writer: DBInstance
    replicas: list[DBInstance]
    credentials: Secret


@dataclass(frozen=True)
class RedisParts:
    group: ReplicationGroup
    auth_secret: Secret
    nodes: int


def build_database(template: Template, spec: Database, group: Ref, subnets: Ref) -> DatabaseParts:
    subnet_group = template.add_resource(DBSubnetGroup(
        "DatabaseSubnetGroup", DBSubnetGroupDescription=Sub("${AWS::StackName} database, private subnets"),
        SubnetIds=subnets))
    monitoring = template.add_resource(Role(
        "DatabaseMonitoringRole", AssumeRolePolicyDocument=assume_role("monitoring.rds.amazonaws.com"),
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")]))
    common = {
        "Engine": spec.engine, "DBInstanceClass": spec.instance_class, "PubliclyAccessible": False,
        "VPCSecurityGroups": [group],
        "AutoMinorVersionUpgrade": True, "CopyTagsToSnapshot": True, "EnableCloudwatchLogsExports": DB_LOGS,
        "MonitoringInterval": MONITORING_SECONDS, "MonitoringRoleArn": GetAtt(monitoring, "Arn"),
    }
    credentials = template.add_resource(keep_data(skip_checkov(Secret(
        "DatabaseCredentials", Description=Sub("${AWS::StackName}: database master user (JSON username, password)"),
        GenerateSecretString=GenerateSecretString(
            SecretStringTemplate=json.dumps({"username": DB_USER}), GenerateStringKey="password",
            PasswordLength=32, ExcludeCharacters=EXCLUDED_CHARACTERS)), CKV_AWS_149=CMK_SKIP), RETAIN))
    writer = DBInstance(
        "Database", EngineVersion=spec.engine_version, DBName=DB_NAME, MasterUsername=DB_USER,
        MasterUserPassword=Sub("{{resolve:secretsmanager:${Secret}:SecretString:password}}",
                               Secret=Ref(credentials)),
        StorageType="gp3", StorageEncrypted=True,
        AllocatedStorage=str(spec.allocated_storage_gb), MultiAZ=spec.multi_az,
        BackupRetentionPeriod=spec.backup_retention_days, DeletionProtection=spec.deletion_protection,
        DBSubnetGroupName=Ref(subnet_group), Port=str(MYSQL_PORT), **common)
    if spec.max_storage_gb > spec.allocated_storage_gb:
        writer.MaxAllocatedStorage = spec.max_storage_gb
    skips = {}
    if not spec.multi_az:
        skips["CKV_AWS_157"] = "the stage file sets multi_az false for this stage (cost, not production)"
    template.add_resource(keep_data(skip_checkov(writer, **skips), SNAPSHOT))
    replicas = []
    for number in range(1, spec.read_replicas + 1):
        replica = DBInstance(f"DatabaseReplica{number}", SourceDBInstanceIdentifier=Ref(writer), **common)
        # RDS refuses a final snapshot of a replica, and a replica holds no data of its own: Delete, explicitly
        # (CloudFormation's default for a DB instance is Snapshot).
        replica.DeletionPolicy = "Delete"
        replica.UpdateReplacePolicy = "Delete"
        replicas.append(template.add_resource(skip_checkov(
            replica,
            CKV_AWS_16="a replica inherits its source's encryption (StorageEncrypted may not be set on a replica)",
            CKV_AWS_157="a read replica's availability comes from the writer's Multi-AZ and the other replicas",
        )))
    return DatabaseParts(writer, replicas, credentials)


def build_redis(template: Template, spec: Redis, group: Ref, subnets: Ref) -> RedisParts:
    subnet_group = template.add_resource(CacheSubnetGroup(
        "RedisSubnetGroup", Description=Sub("${AWS::StackName} redis, private subnets"), SubnetIds=subnets))
    auth_secret = template.add_resource(keep_data(skip_checkov(
        Secret("RedisAuthSecret", Description=Sub("${AWS::StackName}: Redis AUTH token"),
               # ElastiCache refuses @, " and / in a token; letters and digits only is simplest.
               GenerateSecretString=GenerateSecretString(PasswordLength=64, ExcludePunctuation=True)),
        CKV_AWS_149=CMK_SKIP), RETAIN))
    nodes = 1 + spec.replicas
    failover = spec.replicas > 0
    redis = ReplicationGroup(
        "Redis", ReplicationGroupDescription=Sub("${AWS::StackName} sessions"), Engine="redis",
        EngineVersion=REDIS_ENGINE_VERSION, CacheNodeType=spec.node_type, NumCacheClusters=nodes,
        AutomaticFailoverEnabled=failover, MultiAZEnabled=failover, TransitEncryptionEnabled=True,
        AtRestEncryptionEnabled=True, AuthToken=Sub("{{resolve:secretsmanager:${RedisAuthSecret}}}"),
        CacheSubnetGroupName=Ref(subnet_group), SecurityGroupIds=[group], Port=REDIS_PORT,
        AutoMinorVersionUpgrade=True, SnapshotRetentionLimit=1)
    template.add_resource(keep_data(redis, SNAPSHOT))
    return RedisParts(redis, auth_secret, nodes)
