"""AWS::RDS::DBSubnetGroup and AWS::RDS::DBInstance (MySQL and MariaDB, with read replicas).

moto's DBInstance model reads `VpcSecurityGroupIds` where CloudFormation says
`VPCSecurityGroups` (the database silently lands in the default group), ignores
ManageMasterUserPassword, MaxAllocatedStorage and DeletionProtection, and fails
with a KeyError on mariadb without EngineVersion. The handler passes every
property to moto's RDS backend under its API name, so DescribeDBInstances shows
the template's security groups, storage, backups, Multi-AZ, deletion protection
and a MasterUserSecret whose Secrets Manager secret holds the template's master
username and a generated password. AWS's rule that a source whose password RDS
manages cannot have a read replica (all engines but SQL Server, per the RDS guide)
is enforced with its error.

In a cloud with a data folder each instance is a real MariaDB server (data_stores): a writer with the
template's master user, password and database, a replica fed by the writer's binary log, each at the
endpoint DescribeDBInstances and Fn::GetAtt give; a server that fails to start fails the resource, and
deleting the resource stops its server. A new writer's first automated backup is a real dump (rds_backups).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from eb_tools.cloud import rds_backups
from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, flag, items, refuse, tag_dict
from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.data_stores.mariadb import local_version
from eb_tools.cloud.moto_internals import RDSDBInstance, ec2_backends, random_password, rds_backends, replace
from eb_tools.cloud.moto_internals import RDSInvalidParameterValue as InvalidParameterValue

INSTANCE = "AWS::RDS::DBInstance"
ENGINES = ("mysql", "mariadb")


def _text(value: Any) -> str:
    return str(value)


# CloudFormation property: (moto's create_db_instance argument, conversion). CloudFormation passes
# numbers and Booleans as given in the template, as numbers or strings.
ARGUMENTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "DBInstanceClass": ("db_instance_class", _text),
    "EngineVersion": ("engine_version", _text),
    "AllocatedStorage": ("allocated_storage", int),
    "MaxAllocatedStorage": ("max_allocated_storage", int),
    "StorageType": ("storage_type", _text),
    "StorageEncrypted": ("storage_encrypted", flag),
    "KmsKeyId": ("kms_key_id", _text),
    "MasterUsername": ("master_username", _text),
    "MasterUserPassword": ("master_user_password", _text),
    "ManageMasterUserPassword": ("manage_master_user_password", flag),
    "DBName": ("db_name", _text),
    "DBSubnetGroupName": ("db_subnet_group_name", _text),
    "MultiAZ": ("multi_az", flag),
    "BackupRetentionPeriod": ("backup_retention_period", int),
    "PreferredBackupWindow": ("preferred_backup_window", _text),
    "PreferredMaintenanceWindow": ("preferred_maintenance_window", _text),
    "DeletionProtection": ("deletion_protection", flag),
    "PubliclyAccessible": ("publicly_accessible", flag),
    "Port": ("port", int),
    "DBParameterGroupName": ("db_parameter_group_name", _text),
    "CopyTagsToSnapshot": ("copy_tags_to_snapshot", flag),
    "AutoMinorVersionUpgrade": ("auto_minor_version_upgrade", flag),
    "EnableCloudwatchLogsExports": ("enable_cloudwatch_logs_exports", list),
    "MonitoringInterval": ("monitoring_interval", int),
    "MonitoringRoleArn": ("monitoring_role_arn", _text),
}


def _backend(place: Place) -> Any:
    return place.backend(rds_backends)


def _tags(properties: dict[str, Any], resource_type: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tag_dict(properties.get("Tags", []), resource_type).items()]


def _identifier(name: str, limit: int) -> str:
    """RDS's identifier rules: lowercase letters, digits and single hyphens, starting with a letter."""
    cleaned = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower()))[:limit].strip("-")
    return cleaned if cleaned[:1].isalpha() else f"d{cleaned}"[:limit]


class DBSubnetGroup(Handler):
    type_name = "AWS::RDS::DBSubnetGroup"
    name_property = "DBSubnetGroupName"
    properties = frozenset({"DBSubnetGroupName", "DBSubnetGroupDescription", "SubnetIds", "Tags"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        name = name.lower()  # RDS stores subnet group names in lowercase
        ec2 = place.backend(ec2_backends)
        subnets = [ec2.get_subnet(subnet_id) for subnet_id in
                   items(cls.required(properties, "SubnetIds"), cls.type_name, "SubnetIds")]
        _backend(place).create_subnet_group(name, cls.required(properties, "DBSubnetGroupDescription"), subnets,
                                            _tags(properties, cls.type_name))
        return Resource(cls, name, place)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _backend(resource.place).subnet_groups.pop(resource.physical_resource_id, None)


def _managed_secret(database: Any, username: str) -> None:
    """RDS keeps the master user's name and the password it generated in the secret; moto writes
    a fixed admin/P@55w0rd! pair, so the secret is given the real username and a fresh password."""
    password = random_password(password_length=32, exclude_characters='"@/\\', exclude_numbers=False,
                               exclude_punctuation=False, exclude_uppercase=False, exclude_lowercase=False,
                               include_space=False, require_each_included_type=True)
    database.backend.secretsmanager.put_secret_value(
        secret_id=database.master_user_secret.secret_arn,
        secret_string=json.dumps({"username": username, "password": password}),
        secret_binary=None, client_request_token=None, version_stages=["AWSCURRENT"])


class DBInstance(Handler):
    type_name = INSTANCE
    name_property = "DBInstanceIdentifier"
    properties = frozenset({
        "DBInstanceIdentifier", "DBInstanceClass", "Engine", "EngineVersion", "AllocatedStorage",
        "MaxAllocatedStorage", "StorageType", "StorageEncrypted", "KmsKeyId", "MasterUsername",
        "MasterUserPassword", "ManageMasterUserPassword", "MasterUserSecret", "DBName", "DBSubnetGroupName",
        "VPCSecurityGroups", "MultiAZ", "BackupRetentionPeriod", "PreferredBackupWindow",
        "PreferredMaintenanceWindow", "DeletionProtection", "PubliclyAccessible", "SourceDBInstanceIdentifier",
        "Port", "DBParameterGroupName", "CopyTagsToSnapshot", "AutoMinorVersionUpgrade", "EnableCloudwatchLogsExports",
        "MonitoringInterval", "MonitoringRoleArn", "Tags"})
    attributes = frozenset({"Endpoint.Address", "Endpoint.Port", "MasterUserSecret.SecretArn", "DBInstanceArn",
                            "DbiResourceId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        backend = _backend(place)
        identifier = _identifier(name, 63)
        kwargs = cls._api_arguments(identifier, properties)
        source = properties.get("SourceDBInstanceIdentifier")
        if source:
            primary = backend.find_db_from_id(source)
            if primary.manage_master_user_password:
                raise InvalidParameterValue(
                    f"Creating read replicas for source instance with engine {primary.engine} where "
                    "ManageMasterUserPassword is enabled is not supported.")
            if "ManageMasterUserPassword" in properties:
                refuse(INSTANCE, "ManageMasterUserPassword is a setting of the source instance, not of a read replica")
            database = backend.create_db_instance_read_replica({**kwargs, "source_db_instance_identifier": source})
            # moto's replica is a shallow copy of its primary: give it lists of its own
            database.tags = _tags(properties, INSTANCE)
            database.vpc_security_group_ids = list(kwargs["vpc_security_group_ids"] or
                                                   primary.vpc_security_group_ids)
        else:
            database = backend.create_db_instance(kwargs)
            if database.manage_master_user_password:
                _managed_secret(database, kwargs["master_username"])
        _run_server(database, name, properties, backend)
        attributes: dict[str, Any] = {
            "Endpoint.Address": database.address, "Endpoint.Port": str(database.port),
            "DBInstanceArn": database.db_instance_arn, "DbiResourceId": database.dbi_resource_id}
        if database.manage_master_user_password:
            attributes["MasterUserSecret.SecretArn"] = database.master_user_secret.secret_arn
        return Resource(cls, identifier, place, attributes)

    @classmethod
    def _api_arguments(cls, identifier: str, properties: dict[str, Any]) -> dict[str, Any]:
        """The given properties as moto's create_db_instance arguments (CreateDBInstance's parameters).
        Only given ones: a read replica takes the rest from its primary, an instance RDS's defaults."""
        engine = str(properties.get("Engine", "")).lower()
        if "SourceDBInstanceIdentifier" not in properties:
            if engine not in ENGINES:
                refuse(INSTANCE, f"Engine must be one of {', '.join(ENGINES)}, not {engine!r}")
            if not properties.get("EngineVersion"):
                refuse(INSTANCE, "EngineVersion is required: RDS would pick its current default version, "
                                 "which the local cloud cannot know")
            cls.required(properties, "MasterUsername")
        secret_options = checked(properties.get("MasterUserSecret", {}), {"KmsKeyId"}, INSTANCE, "MasterUserSecret")
        if secret_options and not flag(properties.get("ManageMasterUserPassword", False)):
            refuse(INSTANCE, "MasterUserSecret is only used with ManageMasterUserPassword")
        arguments: dict[str, Any] = {"db_instance_identifier": identifier, "tags": _tags(properties, INSTANCE),
                                     "vpc_security_group_ids": items(properties.get("VPCSecurityGroups", []),
                                                                     INSTANCE, "VPCSecurityGroups")}
        if engine:
            arguments["engine"] = engine
        if "KmsKeyId" in secret_options:
            arguments["master_user_secret_kms_key_id"] = secret_options["KmsKeyId"]
        for name, (argument, convert) in ARGUMENTS.items():
            if properties.get(name) not in (None, ""):
                arguments[argument] = convert(properties[name])
        return arguments

    @classmethod
    def delete(cls, resource: Resource) -> None:
        """As RDS: refused while DeletionProtection is on (InvalidParameterCombination); then its server stops."""
        cls._delete(resource, None)

    @classmethod
    def delete_with_final_snapshot(cls, resource: Resource, snapshot: str) -> None:
        """DeleteDBInstance with FinalDBSnapshotIdentifier, as CloudFormation's provider asks for a Snapshot
        policy; a read replica takes none (RDS refuses a final snapshot of one)."""
        backend = _backend(resource.place)
        database = backend.databases.get(resource.physical_resource_id)
        cls._delete(resource, None if database is None or database.is_replica else snapshot)

    @classmethod
    def _delete(cls, resource: Resource, snapshot: str | None) -> None:
        backend = _backend(resource.place)
        if resource.physical_resource_id in backend.databases:
            backend.delete_db_instance(resource.physical_resource_id, final_db_snapshot_identifier=snapshot,
                                       skip_final_snapshot=snapshot is None)
        stores = data_stores.current()
        if stores is not None:
            stores.stop(resource.physical_resource_id)


def _run_server(database: Any, name: str, properties: dict[str, Any], backend: Any) -> None:
    """The instance's MariaDB server, in a cloud that runs data servers; its endpoint becomes the instance's.
    A server that cannot start removes the record, so the resource fails as a whole."""
    stores = data_stores.current()
    if stores is None:
        return
    identifier = database.db_instance_identifier
    try:
        _check_engine(database)
        source = properties.get("SourceDBInstanceIdentifier")
        if source:
            host, port = stores.start_replica(identifier, name, database.port, str(source))
        else:
            host, port = stores.start_database(identifier, name, database.port, database.master_username,
                                               str(properties.get("MasterUserPassword", "")),
                                               properties.get("DBName"))
            rds_backups.back_up_new_instance(backend, identifier, stores)
    except Exception:
        backend.databases.pop(identifier, None)
        raise
    database.local_endpoint_address, database.port = host, port


def _check_engine(database: Any) -> None:
    """The local cloud runs Debian's MariaDB: another engine or major version would prove nothing."""
    wanted = f"{database.engine} {database.engine_version}"
    have = local_version()
    if database.engine != "mariadb" or str(database.engine_version).split(".")[:2] != have.split(".")[:2]:
        refuse(INSTANCE, f"{wanted} cannot run on this machine, whose MariaDB server is {have}; "
                         f"give the stage engine mariadb with engine_version {'.'.join(have.split('.')[:2])}.x")


def _endpoint_address(database: Any) -> str:
    """Where the instance answers: its local server's address when it has one, else RDS's form of name."""
    local = database.__dict__.get("local_endpoint_address")
    return str(local) if local else f"{database.db_instance_identifier}.aaaaaaaaaa.{database.region}.rds.amazonaws.com"


def register() -> None:
    """DescribeDBInstances gives a running server's own endpoint."""
    replace(RDSDBInstance, "address", property(_endpoint_address))


HANDLERS: tuple[type[Handler], ...] = (DBSubnetGroup, DBInstance)
