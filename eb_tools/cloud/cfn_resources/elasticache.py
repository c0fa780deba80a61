"""AWS::ElastiCache::SubnetGroup and AWS::ElastiCache::ReplicationGroup (Redis, cluster mode off).

moto's CloudFormation has no ElastiCache model: a replication group "created" by a
stack does not exist. Its backend has replication groups, but ignores
NumCacheClusters (every group gets one node) and creates no member clusters, and
checks none of AWS's rules. The handler checks the rules with AWS's error codes
and messages, creates the group with the right number of nodes, and creates its
member cache clusters as ElastiCache does, so DescribeReplicationGroups shows the
group (failover, Multi-AZ, encryption, auth, endpoints) and DescribeCacheClusters
its nodes' engine version, subnet group, security groups and port.

In a cloud with a data folder the group's primary is a real redis-server (data_stores) requiring the group's
AUTH token, over TLS when the group encrypts in transit; its primary and reader endpoints are that server's
(a group with replicas still runs one server here: replicas' failover is AWS's to show).
"""
from __future__ import annotations

import re
import string
from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, flag, items, refuse, tag_dict
from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.moto_internals import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    elasticache_backends,
)

GROUP = "AWS::ElastiCache::ReplicationGroup"
# AWS: 16 to 128 printable characters; the only special characters allowed are !&#$^<>-
AUTH_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>\-]{16,128}")


def _backend(place: Place) -> Any:
    return place.backend(elasticache_backends)


def _tags(properties: dict[str, Any], resource_type: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tag_dict(properties.get("Tags", []), resource_type).items()]


class SubnetGroup(Handler):
    type_name = "AWS::ElastiCache::SubnetGroup"
    name_property = "CacheSubnetGroupName"
    properties = frozenset({"CacheSubnetGroupName", "Description", "SubnetIds", "Tags"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        name = name.lower()  # ElastiCache stores subnet group names in lowercase
        _backend(place).create_cache_subnet_group(
            cache_subnet_group_name=name, cache_subnet_group_description=cls.required(properties, "Description"),
            subnet_ids=items(cls.required(properties, "SubnetIds"), cls.type_name, "SubnetIds"),
            tags=_tags(properties, cls.type_name))
        return Resource(cls, name, place)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _backend(resource.place).cache_subnet_groups.pop(resource.physical_resource_id, None)


def check_rules(properties: dict[str, Any], clusters: int) -> None:
    """AWS's CreateReplicationGroup checks, with its codes and messages."""
    if flag(properties.get("AutomaticFailoverEnabled", False)) and clusters < 2:
        raise InvalidParameterCombinationException(
            "When using automatic failover, there must be at least 2 cache clusters in the replication group.")
    token = properties.get("AuthToken")
    if token is not None:
        if not flag(properties.get("TransitEncryptionEnabled", False)):
            raise InvalidParameterValueException(
                "The AUTH token is only supported when encryption-in-transit is enabled")
        if not AUTH_TOKEN.fullmatch(str(token)):
            raise InvalidParameterValueException("Invalid AuthToken provided.")


def _group_id(name: str) -> str:
    """ElastiCache's identifier rules: lowercase letters, digits and single hyphens, 40 at most,
    starting with a letter (CloudFormation's generated names are made to fit them)."""
    cleaned = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower()))[:40].strip("-")
    return cleaned if cleaned[:1] in string.ascii_lowercase else f"r{cleaned}"[:40]


class ReplicationGroup(Handler):
    type_name = GROUP
    name_property = "ReplicationGroupId"
    properties = frozenset({
        "ReplicationGroupId", "ReplicationGroupDescription", "Engine", "EngineVersion", "CacheNodeType",
        "NumCacheClusters", "ReplicasPerNodeGroup", "AutomaticFailoverEnabled", "MultiAZEnabled",
        "TransitEncryptionEnabled", "AtRestEncryptionEnabled", "AuthToken", "KmsKeyId", "CacheSubnetGroupName",
        "SecurityGroupIds", "Port", "SnapshotRetentionLimit", "SnapshotWindow", "PreferredMaintenanceWindow",
        "AutoMinorVersionUpgrade", "Tags"})
    attributes = frozenset({"PrimaryEndPoint.Address", "PrimaryEndPoint.Port", "ReaderEndPoint.Address",
                            "ReaderEndPoint.Port"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        if str(properties.get("Engine", "redis")).lower() != "redis":
            refuse(GROUP, "the local cloud creates replication groups for the redis engine only")
        if "NumCacheClusters" in properties and "ReplicasPerNodeGroup" in properties:
            refuse(GROUP, "give NumCacheClusters or ReplicasPerNodeGroup, not both")
        clusters = int(properties.get("NumCacheClusters", int(properties.get("ReplicasPerNodeGroup", 0)) + 1))
        check_rules(properties, clusters)
        group_id = _group_id(name)
        port = int(properties.get("Port", 6379))
        backend = _backend(place)
        group = backend.create_replication_group(
            replication_group_id=group_id,
            replication_group_description=cls.required(properties, "ReplicationGroupDescription"),
            global_replication_group_id=None, primary_cluster_id=None,
            automatic_failover_enabled=flag(properties.get("AutomaticFailoverEnabled", False)),
            multi_az_enabled=flag(properties.get("MultiAZEnabled", False)),
            # moto's model sizes a cluster-mode-disabled group from replicas_per_node_group only
            num_cache_clusters=clusters, replicas_per_node_group=clusters - 1,
            preferred_cache_cluster_azs=[], num_node_groups=1, node_group_configuration=[],
            cache_node_type=properties.get("CacheNodeType"), engine="redis",
            engine_version=properties.get("EngineVersion"), cache_parameter_group_name=None,
            cache_subnet_group_name=properties.get("CacheSubnetGroupName"), cache_security_group_names=None,
            security_group_ids=properties.get("SecurityGroupIds"), tags=_tags(properties, GROUP),
            snapshot_arns=None, snapshot_name=None,
            preferred_maintenance_window=properties.get("PreferredMaintenanceWindow"), port=port,
            notification_topic_arn=None,
            auto_minor_version_upgrade=flag(properties.get("AutoMinorVersionUpgrade", True)),
            snapshot_retention_limit=int(properties.get("SnapshotRetentionLimit", 0)),
            snapshot_window=properties.get("SnapshotWindow"), auth_token=properties.get("AuthToken"),
            transit_encryption_enabled=flag(properties.get("TransitEncryptionEnabled", False)),
            at_rest_encryption_enabled=flag(properties.get("AtRestEncryptionEnabled", False)),
            kms_key_id=properties.get("KmsKeyId"), user_group_ids=[], log_delivery_configurations=[],
            data_tiering_enabled=False, network_type=None, ip_discovery=None, transit_encryption_mode=None,
            cluster_mode="disabled", serverless_cache_snapshot_name=None)
        node_group = group.node_groups[0]
        _run_server(backend, group, name, properties, port)
        port = int(node_group["port"])
        # moto keeps the reader endpoint's address but does not report it as NodeGroups[].ReaderEndpoint
        node_group["reader_endpoint"] = {"address": node_group["reader_endpoint_address"], "port": port}
        cls._create_members(backend, group, properties, port)
        return Resource(cls, group_id, place, {
            "PrimaryEndPoint.Address": node_group["primary_endpoint_address"], "PrimaryEndPoint.Port": str(port),
            "ReaderEndPoint.Address": node_group["reader_endpoint_address"], "ReaderEndPoint.Port": str(port)})

    @staticmethod
    def _create_members(backend: Any, group: Any, properties: dict[str, Any], port: int) -> None:
        """The group's nodes as cache clusters, which is where ElastiCache reports their settings."""
        for member in group.node_groups[0]["node_group_members"]:
            cluster = backend.create_cache_cluster(
                cache_cluster_id=member["cache_cluster_id"], replication_group_id=group.replication_group_id,
                az_mode="single-az", preferred_availability_zone=member["preferred_availability_zone"],
                num_cache_nodes=1, cache_node_type=group.cache_node_type, engine="redis",
                engine_version=group.engine_version, cache_parameter_group_name=None,
                cache_subnet_group_name=group.cache_subnet_group_name,
                transit_encryption_enabled=group.transit_encryption_enabled, network_type=None,
                ip_discovery=None, snapshot_name=None,
                preferred_maintenance_window=group.preferred_maintenance_window, port=port,
                notification_topic_arn=None, auto_minor_version_upgrade=group.auto_minor_version_upgrade,
                snapshot_retention_limit=group.snapshot_retention_limit, snapshot_window=group.snapshot_window,
                auth_token=properties.get("AuthToken"), outpost_mode=None, preferred_outpost_arn=None,
                preferred_availability_zones=None, cache_security_group_names=None,
                security_group_ids=group.security_group_ids, tags=[], snapshot_arns=None,
                preferred_outpost_arns=None, log_delivery_configurations=[], cache_node_ids_to_remove=None,
                cache_node_ids_to_reboot=None)
            # DescribeCacheClusters reports SecurityGroups, which moto's cluster model does not fill
            cluster.security_groups = [{"SecurityGroupId": group_id, "Status": "active"}
                                       for group_id in group.security_group_ids or []]

    @classmethod
    def delete(cls, resource: Resource) -> None:
        """Gone at once (moto would keep it 'deleting' for ever), with its member clusters and its server."""
        backend = _backend(resource.place)
        group = backend.replication_groups.pop(resource.physical_resource_id, None)
        for cluster_id in group.member_clusters if group else []:
            backend.cache_clusters.pop(cluster_id, None)
        stores = data_stores.current()
        if stores is not None:
            stores.stop(resource.physical_resource_id)


def _run_server(backend: Any, group: Any, name: str, properties: dict[str, Any], port: int) -> None:
    """The group's redis-server, in a cloud that runs data servers; its endpoints become the group's. A server
    that cannot start removes the group, so the resource fails as a whole."""
    stores = data_stores.current()
    if stores is None:
        return
    try:
        host, port = stores.start_redis(group.replication_group_id, name, port, properties.get("AuthToken"),
                                        tls=flag(properties.get("TransitEncryptionEnabled", False)))
    except Exception:
        backend.replication_groups.pop(group.replication_group_id, None)
        raise
    node_group = group.node_groups[0]
    node_group["primary_endpoint_address"] = node_group["reader_endpoint_address"] = host
    node_group["port"] = port
    node_group["primary_endpoint"] = {"address": host, "port": port}


HANDLERS: tuple[type[Handler], ...] = (SubnetGroup, ReplicationGroup)
