"""moto's private internals, in one place, checked before the local cloud starts.

The local cloud extends moto where moto differs from AWS, and moto offers no
public API for most of that: its backends' methods and dicts, its response
classes' dispatch, its CloudFormation parser, the methods the extensions
replace. moto changes these between releases without notice, so every module of
eb_tools/cloud takes them from here, and USES names each attribute with the
module that needs it. `check()` runs when this module is imported and again
when LocalCloud starts: a moto without one of them stops everything with one
line that names the attribute, its user and the moto this was written for,
instead of a cloud that misbehaves. moto's public, documented API (mock_aws,
ThreadedMotoServer, BaseBackend, BackendDict) is imported directly where used.

moto is not safe for concurrent use ("Moto is not designed for multithreaded
access", moto's FAQ), while the local cloud's server is threaded: BACKENDS is
held by every request (server.py) and by every in-process access from outside a
request (the accessors below, for LocalCloud's public methods), so moto's
backends and the extensions' state change one request at a time.
"""
from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from eb_tools.errors import CloudError

WRITTEN_FOR = "5.2.5"
TESTED = ">=5.2.5,<5.3"  # pyproject.toml pins moto[server] to this range, in its `local` extra

# Who uses what, as "module:Attribute.path"; "Class().name" is an attribute moto's instances carry (set in
# moto's code, not on the class). Attributes the extensions add to moto's objects for moto's serializer to
# find (a distribution origin's OriginAccessControlId, a stack's StackStatusReason) are theirs, not moto's.
USES: dict[str, tuple[str, ...]] = {
    "eb_tools/cloud/server.py": (
        "moto.core:DEFAULT_ACCOUNT_ID",  # the account requests without credentials of another act in
        "moto.moto_server.werkzeug_app:DomainDispatcherApplication",
        "moto.moto_server.werkzeug_app:MotoRequestHandler",
        "moto.moto_server.werkzeug_app:create_backend_app",
        # LocalCloud's records: the accessors below, for what the local stage keeps between runs
        "moto.sqs.models:sqs_backends",
        "moto.sqs.models:SQSBackend().queues",
        "moto.sqs.models:Queue()._messages",
        "moto.sqs.models:Queue()._messages_lock",
        "moto.sqs.models:Message().body",
        "moto.sqs.models:Message().message_attributes",
        "moto.ses.models:ses_backends",
        "moto.ses.models:SESBackend().sent_messages",
        "moto.ses.models:SESBackend().sent_message_count",
        "moto.s3.models:s3_backends",
        "moto.s3.models:S3Backend().buckets",
        "moto.s3.models:FakeBucket().keys",
        "moto.s3.utils:_VersionedKeyStore.getlist",
        "moto.s3.models:FakeKey()._version_id",
        "moto.ses.models:Message.instances_tracked",  # what moto's /moto-api/data.json lists
        "moto.secretsmanager.models:secretsmanager_backends",  # due rotations run on demand
        "moto.ses.models:RawMessage",
        "moto.ses.models:TemplateMessage",
        "moto.ses.models:BulkTemplateMessage",
    ),
    "eb_tools/cloud/cfn_resources/ses.py": (
        "moto.ses.models:ses_backends",
        "moto.ses.models:SESBackend.create_email_identity_v2",
        "moto.ses.models:SESBackend().email_identities",
        "moto.core.exceptions:ServiceException",
    ),
    "eb_tools/cloud/ses_sandbox.py": (
        *(f"moto.ses.models:SESBackend.{method}" for method in (
            "create_email_identity_v2", "send_email", "send_raw_email", "get_identity_verification_attributes")),
        "moto.ses.models:SESBackend().email_identities",
        "moto.ses.models:SESBackend().sent_message_count",
        "moto.ses.models:SESBackend().region_name",
        *(f"moto.ses.models:EmailIdentity().{name}" for name in (
            "verified_for_sending_status", "verification_status", "dkim_attributes")),
        "moto.ses.exceptions:MessageRejectedError",
        "moto.sesv2.responses:SESV2Response.dispatch",
        "moto.sesv2.urls:url_paths",  # GetAccount's route, /v2/email/account, is added to it
        "moto.core.responses:BaseResponse().current_account",
        "moto.core.responses:BaseResponse().region",
    ),
    "eb_tools/cloud/moto_api_data.py": (
        "moto.moto_api._internal.responses:MotoAPIResponse.model_data",
        "moto.core.model_instances:model_data",
    ),
    "eb_tools/cloud/logs_filter_patterns.py": (
        "moto.logs.models:EventMessageFilter",
        "moto.logs.models:LogsBackend.filter_log_events",
        "moto.logs.models:LogStream.filter_log_events",
        "moto.logs.exceptions:InvalidParameterException",
    ),
    "eb_tools/cloud/sqs_receive.py": (
        "moto.sqs.models:SQSBackend.receive_message",
        "moto.sqs.models:SQSBackend.get_queue",
        "moto.sqs.models:Queue.wait_for_messages",
    ),
    "eb_tools/cloud/iam.py": (
        "moto.iam.models:IAMBackend._init_aws_policies",
        "moto.iam.models:AWSManagedPolicy.from_data",
        "moto.iam.models:ManagedPolicy",
        "moto.iam.aws_managed_policies:aws_managed_policies_data",
    ),
    "eb_tools/cloud/s3_bucket_policy.py": (
        "moto.iam.policy_conditions:CONDITION_OPERATIONS",
        "moto.iam.access_control:IAMPolicy.is_action_permitted",
        "moto.iam.access_control:IAMPolicyStatement.is_action_permitted",
        "moto.iam.access_control:IAMPolicyStatement._check_conditions",
        "moto.iam.access_control:IAMPolicyStatement()._statement",
        "moto.iam.access_control:PermissionResult.NEUTRAL",
        "moto.s3.models:FakeBucket.get_permission",
        "moto.s3.models:FakeBucket().policy",
        # anonymous requests: judged before moto's S3 handlers answer them
        "moto.iam.access_control:IAMPolicy",
        "moto.iam.access_control:PermissionResult.PERMITTED",
        "moto.s3.responses:S3Response._bucket_response",
        "moto.s3.responses:S3Response._key_response",
        "moto.s3.responses:S3Response.parse_bucket_name_from_url",
        "moto.s3.responses:S3Response.parse_key_name",
        "moto.s3.responses:S3Response.backend",
        "moto.s3.models:S3Backend.get_bucket",
        "moto.s3.models:S3Backend.get_object",
        "moto.s3.exceptions:MissingBucket",
        "moto.s3.models:FakeBucket().partition",
        "moto.s3.models:FakeBucket().acl",
        "moto.s3.models:FakeBucket().public_access_block",
        "moto.s3.models:FakeKey().acl",
        "moto.s3.models:FakeAcl.public_read",
        "moto.s3.models:PublicAccessBlock().restrict_public_buckets",
        "moto.s3.models:PublicAccessBlock().ignore_public_acls",
    ),
    "eb_tools/cloud/s3_cors.py": (
        "moto.s3.models:s3_backends",
        "moto.s3.models:S3BackendDict().bucket_accounts",
        "moto.s3.models:S3Backend().buckets",
        "moto.s3.models:FakeBucket().cors",
        *(f"moto.s3.models:CorsRule().{name}" for name in (
            "allowed_origins", "allowed_methods", "allowed_headers", "exposed_headers", "max_age_seconds")),
    ),
    "eb_tools/cloud/elasticbeanstalk/services.py": (
        "moto.s3.models:s3_backends",
        "moto.s3.models:S3Backend().buckets",
        "moto.s3.models:S3Backend.create_bucket",
        "moto.s3.models:S3Backend.get_object",
        "moto.s3.models:S3Backend.put_object",
        "moto.s3.models:S3Backend.delete_object",
        "moto.s3.models:FakeKey.value",
        "moto.sqs.models:sqs_backends",
        "moto.sqs.models:SQSBackend.create_queue",
        "moto.sqs.models:Queue().queue_arn",
    ),
    "eb_tools/cloud/elasticbeanstalk/registration.py": (
        "moto.core.common_types:TYPE_RESPONSE",
        "moto.core.responses:ActionResult",
        "moto.core.responses:BaseResponse",
        "moto.core.responses:BaseResponse.call_action",
        "moto.core.responses:BaseResponse._enrich_response",
        "moto.core.responses:BaseResponse._get_action",
        "moto.core.responses:BaseResponse.serialized",
        "moto.core.utils:camelcase_to_underscores",
        "moto.core.utils:get_service_model",
        "botocore.model:ServiceModel()._service_description",  # the model get_service_model gives moto
        "moto.core.utils:method_names_from_class",
        "moto.elasticbeanstalk.responses:EBResponse",
    ),
    "eb_tools/cloud/elasticbeanstalk/responses.py": (
        "moto.core.responses:ActionResult",
        "moto.core.responses:EmptyResult",
        "moto.core.responses:BaseResponse._get_param",
        "moto.core.responses:BaseResponse().current_account",
        "moto.core.responses:BaseResponse().region",
        "moto.core.responses:BaseResponse().headers",
        "moto.elasticbeanstalk.responses:EBResponse",
    ),
    "eb_tools/cloud/elasticbeanstalk/exceptions.py": ("moto.core.exceptions:ServiceException",),
    "eb_tools/cloud/cfn_resources/__init__.py": (
        "moto.cloudformation.parsing:get_model_list",
        "moto.cloudformation.parsing:get_model_map",
        "moto.cloudformation.parsing:get_name_type_map",
        "moto.cloudformation.parsing:clean_json",
    ),
    "eb_tools/cloud/cfn_resources/base.py": (
        # what moto's parsing calls on a resource type and on the resource it made
        "moto.core.common_models:CloudFormationModel.cloudformation_type",
        "moto.core.common_models:CloudFormationModel.cloudformation_name_type",
        "moto.core.common_models:CloudFormationModel.has_cfn_attr",
        "moto.core.common_models:CloudFormationModel.create_from_cloudformation_json",
        "moto.core.common_models:CloudFormationModel.update_from_cloudformation_json",
        "moto.core.common_models:CloudFormationModel.is_created",
        "moto.cloudformation.exceptions:UnformattedGetAttTemplateException",
        "moto.core.exceptions:ServiceException",
        "moto.utilities.utils:get_partition",
    ),
    "eb_tools/cloud/cfn_resources/dynamic_references.py": (
        "moto.secretsmanager.models:secretsmanager_backends",
        "moto.secretsmanager.models:SecretsManagerBackend.get_secret_value",
        "moto.cloudformation.parsing:ResourceMap()._account_id",
        "moto.cloudformation.parsing:ResourceMap()._region_name",
    ),
    "eb_tools/cloud/secret_versions.py": (
        "moto.secretsmanager.models:SecretsManagerBackend.update_secret_version_stage",
        "moto.secretsmanager.models:SecretsManagerBackend().secrets",
        "moto.secretsmanager.models:FakeSecret.set_default_version_id",
    ),
    "eb_tools/cloud/ssm/nodes.py": (
        "moto.iam.models:iam_backends",
        "moto.iam.models:IAMBackend.get_instance_profile",
        "moto.iam.models:IAMBackend.get_instance_profile_by_arn",
        "moto.iam.exceptions:NotFoundException",
        "moto.iam.models:InstanceProfile().roles",
        "moto.iam.models:Role().name",
        "moto.iam.models:Role().policies",
        "moto.iam.models:Role().managed_policies",
        "moto.iam.access_control:IAMPolicy",
        "moto.iam.access_control:IAMPolicy.is_action_permitted",
        "moto.iam.access_control:PermissionResult.PERMITTED",
        "moto.utilities.utils:get_partition",
    ),
    "eb_tools/cloud/iam_authorization.py": (
        "moto.iam.access_control:IAMUserAccessKey",  # finds the user of an access key, and its policies
        "moto.iam.access_control:IAMUserAccessKey.collect_policies",
        "moto.iam.access_control:IAMUserAccessKey.arn",
        "moto.iam.access_control:CreateAccessKeyFailure",
        "moto.iam.models:PolicyVersion().document",
        "moto.iam.models:PolicyVersion().is_default",
        "moto.cloudformation.models:cloudformation_backends",  # a change set's stack, by the change set's ARN
        "moto.cloudformation.models:CloudFormationBackend().change_sets",
        "moto.cloudformation.models:ChangeSet().stack_id",
    ),
    "eb_tools/cloud/ssm/operations.py": (
        "moto.ssm.models:SimpleSystemManagerBackend.send_command",
        "moto.ssm.models:SimpleSystemManagerBackend.get_command_invocation",
        "moto.ssm.models:SimpleSystemManagerBackend.get_command_by_id",
        "moto.ssm.models:SimpleSystemManagerBackend.list_commands",
        "moto.ssm.models:SimpleSystemManagerBackend().account_id",
        "moto.ssm.models:SimpleSystemManagerBackend().region_name",
        "moto.ssm.models:Command.response_object",
        "moto.ssm.models:Command().command_id",
        "moto.ssm.models:Command().document_name",
        "moto.ssm.responses:SimpleSystemManagerResponse",
        "moto.ssm.responses:SimpleSystemManagerResponse.ssm_backend",
        "moto.core.responses:ActionResult",
        "moto.core.responses:BaseResponse._get_param",
        "moto.core.responses:BaseResponse().current_account",
        "moto.core.responses:BaseResponse().region",
        "moto.core.exceptions:ServiceException",
    ),
    "eb_tools/cloud/secret_rotation.py": (
        "moto.secretsmanager.models:SecretsManagerBackend.rotate_secret",
        "moto.secretsmanager.models:SecretsManagerBackend.describe_secret",
        "moto.secretsmanager.models:SecretsManagerBackend().secrets",
        "moto.secretsmanager.models:SecretsManagerBackend().account_id",
        "moto.secretsmanager.models:SecretsManagerBackend().region_name",
        "moto.secretsmanager.models:FakeSecret.remove_version_stages_from_old_versions",
        *(f"moto.secretsmanager.models:FakeSecret().{name}" for name in (
            "arn", "name", "versions", "rotation_requested", "rotation_enabled", "rotation_lambda_arn",
            "auto_rotate_after_days", "next_rotation_date", "last_rotation_date")),
        "moto.secretsmanager.responses:SecretsManagerResponse.backend",
        "moto.secretsmanager.exceptions:InvalidRequestException",
    ),
    "eb_tools/cloud/rotation_function.py": (
        *(f"moto.secretsmanager.models:SecretsManagerBackend.{method}" for method in (
            "describe_secret", "get_secret_value", "put_secret_value", "get_random_password",
            "update_secret_version_stage")),
        "moto.secretsmanager.models:FakeSecret().versions",
        "moto.secretsmanager.models:FakeSecret().rotation_enabled",
        "moto.secretsmanager.exceptions:SecretsManagerClientError",
        "moto.logs.models:logs_backends",
        *(f"moto.logs.models:LogsBackend.{method}" for method in (
            "create_log_group", "create_log_stream", "put_log_events")),
        "moto.logs.models:LogsBackend().groups",
    ),
    "eb_tools/cloud/rds_master_password.py": (
        "moto.rds.models:RDSBackend.modify_db_instance",
        "moto.rds.models:DBInstance().db_instance_identifier",
        "moto.rds.models:DBInstance().master_username",
        "moto.rds.exceptions:InvalidParameterValue",
    ),
    "eb_tools/cloud/elasticache_auth.py": (
        "moto.core.responses:ActionResult",
        "moto.core.utils:utcnow",
        "moto.elasticache.exceptions:InvalidParameterCombinationException",
        "moto.elasticache.exceptions:InvalidParameterValueException",
        "moto.elasticache.responses:ElastiCacheResponse.modify_replication_group",
        "moto.elasticache.responses:ElastiCacheResponse.elasticache_backend",
        "moto.elasticache.models:ElastiCacheBackend().replication_groups",
        "moto.elasticache.models:ReplicationGroup().replication_group_id",
        "moto.elasticache.models:ReplicationGroup().transit_encryption_enabled",
        "moto.elasticache.models:ReplicationGroup().auth_token_enabled",
        "moto.elasticache.models:ReplicationGroup().auth_token_last_modified_date",
    ),
    "eb_tools/cloud/certificates.py": (
        "moto.acm.models:acm_backends",
        "moto.acm.models:CertBundle",
        "moto.acm.models:AWSCertificateManagerBackend()._certificates",
        "moto.acm.models:CertBundle().cert",
        "moto.acm.models:CertBundle().key",
        "moto.acm.models:CertBundle().status",
    ),
    "eb_tools/cloud/cfn_resources/cloudfront.py": (
        "moto.acm.models:acm_backends",
        "moto.acm.models:AWSCertificateManagerBackend.get_certificate",
        "moto.cloudfront.exceptions:CloudFrontException",
        "moto.cloudfront.models:cloudfront_backends",
        "moto.cloudfront.models:CloudFrontBackend.create_origin_access_control",
        "moto.cloudfront.models:CloudFrontBackend.get_origin_access_control",
        "moto.cloudfront.models:CloudFrontBackend().origin_access_controls",
        "moto.cloudfront.models:CloudFrontBackend.create_distribution",
        "moto.cloudfront.models:CloudFrontBackend().distributions",
        "moto.cloudfront.models:Distribution().distribution_config",
        "moto.cloudfront.models:Distribution().domain_name",
        "moto.cloudfront.models:Distribution().id",
        "moto.cloudfront.models:OriginAccessControl().id",
    ),
    "eb_tools/cloud/cfn_resources/cloudwatch.py": (
        "moto.cloudwatch.models:Dimension",
        "moto.cloudwatch.models:Metric",
        "moto.cloudwatch.models:MetricDataQuery",
        "moto.cloudwatch.models:MetricStat",
        "moto.cloudwatch.models:cloudwatch_backends",
        "moto.cloudwatch.models:CloudWatchBackend.put_metric_alarm",
        "moto.cloudwatch.models:CloudWatchBackend().alarms",
        "moto.cloudwatch.models:Alarm().alarm_arn",
    ),
    "eb_tools/cloud/cfn_resources/ec2_network.py": (
        "moto.ec2.models:ec2_backends",
        *(f"moto.ec2.models:EC2Backend.{method}" for method in (
            "create_tags", "create_vpc", "modify_vpc_attribute", "get_security_group_from_name", "delete_vpc",
            "create_subnet", "modify_subnet_attribute", "delete_subnet", "create_internet_gateway",
            "delete_internet_gateway", "attach_internet_gateway", "detach_internet_gateway", "create_route_table",
            "delete_route_table", "create_route", "delete_route", "associate_route_table",
            "disassociate_route_table", "allocate_address", "release_address", "create_nat_gateway",
            "delete_nat_gateway", "create_vpc_endpoint", "delete_vpc_endpoints")),
        "moto.ec2.models.vpcs:VPC().id",
        "moto.ec2.models.vpcs:VPC().cidr_block",
        "moto.ec2.models.vpcs:VPCEndPoint().id",
        "moto.ec2.models.vpcs:VPCEndPoint().vpc_id",
        "moto.ec2.models.vpcs:VPCEndPoint().service_name",
        "moto.ec2.models.vpcs:VPCEndPoint().private_dns_enabled",
        "moto.ec2.models:EC2Backend().vpc_end_points",
        "moto.core.exceptions:ServiceException",
        "moto.ec2.models.subnets:Subnet().id",
        "moto.ec2.models.subnets:Subnet.availability_zone",
        "moto.ec2.models.subnets:Subnet().vpc_id",
        "moto.ec2.models.subnets:Subnet().cidr_block",
        "moto.ec2.models.internet_gateways:InternetGateway().id",
        "moto.ec2.models.route_tables:RouteTable().id",
        "moto.ec2.models.elastic_ip_addresses:ElasticAddress().public_ip",
        "moto.ec2.models.elastic_ip_addresses:ElasticAddress().allocation_id",
        "moto.ec2.models.nat_gateways:NatGateway().id",
    ),
    "eb_tools/cloud/cfn_resources/ec2_security.py": (
        "moto.ec2.models:ec2_backends",
        *(f"moto.ec2.models:EC2Backend.{method}" for method in (
            "create_security_group", "delete_security_group", "authorize_security_group_ingress",
            "authorize_security_group_egress", "revoke_security_group_ingress", "revoke_security_group_egress")),
        "moto.ec2.models.security_groups:SecurityGroup().id",
        "moto.ec2.models.security_groups:SecurityGroup().vpc_id",
        "moto.ec2.models.security_groups:SecurityGroup().egress_rules",
        "moto.ec2.models.security_groups:SecurityGroupRule().id",
    ),
    "eb_tools/cloud/cfn_resources/elasticache.py": (
        "moto.elasticache.exceptions:InvalidParameterCombinationException",
        "moto.elasticache.exceptions:InvalidParameterValueException",
        "moto.elasticache.models:elasticache_backends",
        "moto.elasticache.models:ElastiCacheBackend.create_cache_subnet_group",
        "moto.elasticache.models:ElastiCacheBackend().cache_subnet_groups",
        "moto.elasticache.models:ElastiCacheBackend.create_replication_group",
        "moto.elasticache.models:ElastiCacheBackend().replication_groups",
        "moto.elasticache.models:ElastiCacheBackend.create_cache_cluster",
        "moto.elasticache.models:ElastiCacheBackend().cache_clusters",
        *(f"moto.elasticache.models:ReplicationGroup().{name}" for name in (
            "node_groups", "replication_group_id", "cache_node_type", "engine_version", "cache_subnet_group_name",
            "transit_encryption_enabled", "preferred_maintenance_window", "auto_minor_version_upgrade",
            "snapshot_retention_limit", "snapshot_window", "security_group_ids", "member_clusters")),
    ),
    "eb_tools/cloud/cfn_resources/iam.py": (
        "moto.iam.aws_managed_policies:aws_managed_policies_data",
        "moto.iam.models:AWSManagedPolicy.from_data",
        "moto.iam.models:iam_backends",
        "moto.iam.models:IAMBackend().managed_policies",
        *(f"moto.iam.models:IAMBackend.{method}" for method in (
            "create_role", "get_role", "get_roles", "delete_role", "put_role_policy", "delete_role_policy",
            "attach_role_policy", "detach_role_policy", "create_policy", "delete_policy",
            "create_instance_profile", "delete_instance_profile")),
        "moto.iam.models:Role.arn",
        "moto.iam.models:Role().id",
        "moto.iam.models:Role().name",
        "moto.iam.models:Role().policies",
        "moto.iam.models:Role().managed_policies",
        "moto.iam.models:InstanceProfile.arn",
        "moto.iam.models:ManagedPolicy.arn",
    ),
    "eb_tools/cloud/cfn_resources/rds.py": (
        "moto.ec2.models:ec2_backends",
        "moto.ec2.models:EC2Backend.get_subnet",
        "moto.rds.exceptions:InvalidParameterValue",
        "moto.rds.models:rds_backends",
        "moto.rds.models:DBInstance.address",
        "moto.rds.models:DBInstance().port",
        *(f"moto.rds.models:RDSBackend.{method}" for method in (
            "create_subnet_group", "find_db_from_id", "create_db_instance", "create_db_instance_read_replica",
            "delete_db_instance", "secretsmanager")),
        "moto.rds.models:RDSBackend().subnet_groups",
        "moto.rds.models:RDSBackend().databases",
        *(f"moto.rds.models:DBInstance().{name}" for name in (
            "backend", "master_user_secret", "manage_master_user_password", "engine", "tags",
            "vpc_security_group_ids", "port", "dbi_resource_id")),
        "moto.rds.models:DBInstance.address",
        "moto.rds.models:DBInstance.db_instance_arn",
        "moto.rds.models:MasterUserSecret.secret_arn",
        "moto.secretsmanager.models:SecretsManagerBackend.put_secret_value",
        "moto.secretsmanager.utils:random_password",
    ),
    "eb_tools/cloud/rds_renames.py": (
        "moto.rds.exceptions:RDSClientError",
        "moto.rds.models:RDSBackend.modify_db_instance",
        "moto.rds.models:RDSBackend.describe_db_instances",
        "moto.rds.models:RDSBackend().databases",
        "moto.rds.models:RDSBackend().database_snapshots",
        *(f"moto.rds.models:DBInstance().{name}" for name in (
            "db_instance_identifier", "source_db_instance_identifier", "replicas", "is_replica", "status", "port")),
        "moto.rds.models:DBSnapshot().db_instance_identifier",
        "moto.rds.models:DBSnapshot().snapshot_type",
    ),
    "eb_tools/cloud/rds_read_replicas.py": (
        "moto.rds.responses:RDSResponse.create_db_instance_read_replica",
        "moto.rds.responses:RDSResponse.backend",
        "moto.rds.models:RDSBackend().databases",
        *(f"moto.rds.models:DBInstance().{name}" for name in (
            "db_instance_identifier", "source_db_instance_identifier", "status", "port")),
    ),
    "eb_tools/cloud/rds_backups.py": (
        "moto.rds.exceptions:RDSClientError",
        "moto.rds.models:RDSBackend",
        *(f"moto.rds.models:RDSBackend.{method}" for method in (
            "create_db_snapshot", "delete_db_snapshot", "restore_db_instance_from_db_snapshot",
            "restore_db_instance_to_point_in_time", "delete_db_instance", "describe_db_instances",
            "get_db_snapshot", "extract_snapshot_name_from_arn")),
        "moto.rds.models:RDSBackend().database_snapshots",
        *(f"moto.rds.models:DBSnapshot().{name}" for name in (
            "status", "snapshot_type", "db_instance_identifier")),
        "moto.rds.models:DBSnapshot.db_snapshot_identifier",
        *(f"moto.rds.models:DBInstance().{name}" for name in ("status", "backend", "port", "backup_retention_period")),
        "moto.rds.models:DBInstanceAutomatedBackup",
        "moto.rds.models:DBInstanceAutomatedBackup().backend",
        "moto.rds.models:DBInstanceAutomatedBackup().db_instance_identifier",
    ),
    "eb_tools/cloud/cfn_resources/s3.py": (
        "moto.s3.exceptions:BucketNotEmpty",
        "moto.s3.exceptions:CrossLocationLoggingProhibited",
        "moto.s3.exceptions:InvalidTargetBucketForLogging",
        "moto.s3.exceptions:MissingBucket",
        "moto.s3.models:s3_backends",
        "moto.s3.models:S3Backend().buckets",
        *(f"moto.s3.models:S3Backend.{method}" for method in (
            "create_bucket", "delete_bucket", "get_bucket", "put_bucket_encryption", "put_public_access_block",
            "put_bucket_versioning", "put_bucket_lifecycle", "put_bucket_cors", "put_bucket_ownership_controls",
            "put_bucket_tagging", "put_bucket_policy", "delete_bucket_policy")),
        "moto.s3.models:FakeBucket().name",
        "moto.s3.models:FakeBucket().region_name",
        "moto.s3.models:FakeBucket().logging",
        "moto.s3.models:FakeBucket.arn",
        "moto.s3.models:FakeBucket.domain_name",
        "moto.s3.models:FakeBucket.regional_domain_name",
        "moto.s3.models:FakeBucket.dual_stack_domain_name",
    ),
    "eb_tools/cloud/cfn_resources/secretsmanager.py": (
        "moto.secretsmanager.models:secretsmanager_backends",
        *(f"moto.secretsmanager.models:SecretsManagerBackend.{method}" for method in (
            "create_secret", "describe_secret", "delete_secret", "get_secret_value", "put_secret_value")),
        "moto.secretsmanager.models:SecretsManagerBackend().secrets",
        "moto.secretsmanager.models:FakeSecret().arn",
        "moto.secretsmanager.models:FakeSecret.is_deleted",
        "moto.secretsmanager.utils:random_password",
        "moto.rds.models:rds_backends",
        "moto.rds.models:RDSBackend().databases",
        "moto.rds.models:DBInstance().engine",
        "moto.rds.models:DBInstance().port",
        "moto.rds.models:DBInstance.address",
    ),
    "eb_tools/cloud/cfn_resources/rotation_schedule.py": (
        "moto.secretsmanager.models:secretsmanager_backends",
        "moto.secretsmanager.models:SecretsManagerBackend.describe_secret",
        "moto.secretsmanager.models:FakeSecret().arn",
        "moto.ec2.models:ec2_backends",
        "moto.ec2.models:EC2Backend.get_subnet",
        "moto.ec2.models:EC2Backend.get_security_group_from_id",
    ),
    "eb_tools/cloud/cfn_resources/sns.py": (
        "moto.sns.models:sns_backends",
        *(f"moto.sns.models:SNSBackend.{method}" for method in (
            "create_topic", "delete_topic", "subscribe", "unsubscribe", "set_subscription_attributes")),
        "moto.sns.models:Topic().arn",
        "moto.sns.models:Topic().name",
        "moto.sns.models:Subscription().arn",
        "moto.sns.models:Subscription().attributes",
    ),
    "eb_tools/cloud/cfn_resources/sqs.py": (
        "moto.sqs.models:sqs_backends",
        "moto.sqs.models:SQSBackend().queues",
        "moto.sqs.models:SQSBackend.create_queue",
        "moto.sqs.models:SQSBackend.delete_queue",
        "moto.sqs.models:Queue.physical_resource_id",
        "moto.sqs.models:Queue().queue_arn",
        "moto.sqs.models:Queue().name",
    ),
    "eb_tools/cloud/cfn_stacks/__init__.py": (
        "moto.cloudformation.models:CloudFormationBackend.delete_stack",
        "moto.cloudformation.models:Stack.parameter_list",
        *(f"moto.cloudformation.responses:CloudFormationResponse.{method}" for method in (
            "create_stack", "update_stack", "create_change_set", "describe_change_set", "delete_change_set",
            "list_change_sets", "execute_change_set")),
    ),
    "eb_tools/cloud/cfn_stacks/models.py": (
        "moto.cloudformation.exceptions:CloudFormationError",
        "moto.cloudformation.exceptions:ValidationError",
        "moto.cloudformation.models:ChangeSet",
        "moto.cloudformation.models:Stack",
        "moto.cloudformation.models:Stack.parse_template",
        "moto.cloudformation.models:Stack.exports",
        "moto.cloudformation.models:CloudFormationBackend",
        *(f"moto.cloudformation.models:CloudFormationBackend().{name}" for name in (
            "stacks", "change_sets", "exports", "deleted_stacks")),
        *(f"moto.cloudformation.models:ChangeSet().{name}" for name in (
            "changes", "change_set_type", "template_dict", "status", "execution_status", "status_reason",
            "change_set_id", "change_set_name", "stack_id", "parameters")),
        "moto.cloudformation.models:Export().exporting_stack_id",
        "moto.cloudformation.models:Export().name",
        "moto.cloudformation.parsing:ResourceMap",
        "moto.cloudformation.parsing:ResourceMap()._parsed_resources",
        "moto.cloudformation.parsing:ResourceMap().resolved_parameters",
        "moto.cloudformation.parsing:ResourceMap().no_echo_parameter_keys",
        "moto.cloudformation.utils:generate_changeset_id",
        "moto.cloudformation.utils:generate_stack_id",
    ),
    "eb_tools/cloud/cfn_stacks/responses.py": (
        "moto.cloudformation.responses:CloudFormationResponse",
        "moto.cloudformation.responses:CloudFormationResponse.create_stack",  # called after the transform checks
        "moto.cloudformation.responses:CloudFormationResponse.update_stack",
        "moto.core.common_types:TYPE_RESPONSE",
        "moto.cloudformation.responses:CloudFormationResponse.cloudformation_backend",
        "moto.cloudformation.responses:CloudFormationResponse.validate_template_and_stack_body",
        "moto.cloudformation.responses:CloudFormationResponse._get_stack_from_s3_url",
        "moto.core.responses:BaseResponse._get_param",
        "moto.core.responses:BaseResponse._get_bool_param",
        "moto.cloudformation.utils:validate_create_change_set",
        "moto.core.responses:ActionResult",
        "moto.core.responses:EmptyResult",
    ),
    "eb_tools/cloud/cfn_stacks/changes.py": ("moto.cloudformation.exceptions:ValidationError",),
    "eb_tools/cloud/cfn_stacks/events.py": (
        "moto.cloudformation.models:Event",
        "moto.cloudformation.models:Event.sendToSns",
        "moto.cloudformation.models:Event().timestamp",
        *(f"moto.cloudformation.models:Stack().{name}" for name in (
            "events", "notification_arns", "account_id", "region_name", "stack_id", "name", "status")),
    ),
    "eb_tools/cloud/cfn_stacks/execution.py": (
        "moto.cloudformation.parsing:NULL_MODELS",
        "moto.cloudformation.parsing:resource_class_from_type",
        "moto.cloudformation.parsing:clean_json",
        "moto.cloudformation.parsing:parse_and_update_resource",
        "moto.cloudformation.parsing:OutputMap",
        "moto.cloudformation.parsing:ResourceMap",
        "moto.cloudformation.parsing:ResourceMap.load",
        "moto.cloudformation.parsing:ResourceMap().tags",
        "moto.cloudformation.parsing:ResourceMap()._resource_json_map",
        "moto.cloudformation.parsing:ResourceMap()._parsed_resources",
        "moto.cloudformation.parsing:ResourceMap._delete_resource",
        "moto.cloudformation.models:cloudformation_backends",
        "moto.cloudformation.models:ChangeSet",
        "moto.cloudformation.models:Stack",
        *(f"moto.cloudformation.models:Stack().{name}" for name in (
            "template", "template_dict", "description", "parameters", "tags", "resource_map", "output_map",
            "stack_id", "name", "account_id", "region_name")),
        "moto.cloudformation.models:ChangeSet().template",
        "moto.cloudformation.models:ChangeSet().tags",
        "moto.ec2.models:ec2_backends",
        "moto.ec2.models:EC2Backend.create_tags",
        "moto.ec2.models.core:TaggedEC2Resource",
    ),
    "eb_tools/cloud/cfn_stacks/template.py": (
        "moto.cloudformation.exceptions:ValidationError",
        "moto.cloudformation.parsing:ResourceMap",
        "moto.cloudformation.parsing:ResourceMap().lazy_condition_map",
        "moto.cloudformation.parsing:ResourceMap()._resource_json_map",
    ),
}


class MotoMismatch(CloudError):
    """The installed moto lacks something the local cloud uses: one line, what and how to fix it (an
    EbToolsError, so the eb_tools command it stops prints that line and exits 1)."""


def installed_moto() -> str:
    try:
        return version("moto")
    except PackageNotFoundError:
        return "(not installed)"


def _mismatch(use: str, user: str) -> MotoMismatch:
    return MotoMismatch(
        f"moto {installed_moto()} lacks {use.replace(':', '.').replace('()', '')} used by {user}; eb_tools was "
        f"written for moto {WRITTEN_FOR} (pyproject.toml pins moto[server]{TESTED}): install that range, or adapt "
        "eb_tools/cloud/moto_internals.py")


@cache
def _module_text(module: str) -> str:
    try:
        return inspect.getsource(importlib.import_module(module))
    except (OSError, TypeError, ImportError):
        return ""


@cache
def _class_source(klass: type) -> str:
    """The text of a top-level class of a module (found by its `class` line: inspect.getsource
    parses the whole module per class, which would cost a second at every start)."""
    found = re.search(rf"^class {re.escape(klass.__name__)}\b.*?(?=^\S|\Z)", _module_text(klass.__module__),
                      re.MULTILINE | re.DOTALL)
    return found.group(0) if found else ""


def _sets(owner: type, name: str) -> bool:
    """Whether instances of `owner` carry `name`: a class attribute, an annotation, or an assignment to
    self.<name> in the code of `owner` or of a class of its package it derives from."""
    if hasattr(owner, name):
        return True
    assignment = re.compile(rf"\bself\.{re.escape(name)}\b\s*(:[^=\n]+)?=(?!=)")
    package = owner.__module__.split(".")[0] + "."
    for klass in owner.__mro__:
        if name in getattr(klass, "__annotations__", {}):
            return True
        if klass.__module__.startswith(package) and assignment.search(_class_source(klass)):
            return True
    return False


def _present(use: str) -> bool:
    module_name, _, path = use.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError:
        return False
    parts = path.split(".")
    for index, part in enumerate(parts):
        if part.endswith("()"):  # an instance attribute follows
            owner = getattr(target, part[:-2], None)
            return isinstance(owner, type) and _sets(owner, parts[index + 1])
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


def problems() -> Iterator[MotoMismatch]:
    """One MotoMismatch per attribute of USES the installed moto lacks."""
    for user, uses in USES.items():
        for use in uses:
            if not _present(use):
                yield _mismatch(use, user)


def check() -> None:
    """Raise MotoMismatch for the first attribute of USES the installed moto lacks."""
    for problem in problems():
        raise problem


check()  # before the imports below: a module moto moved is named, not an ImportError from deep inside

# The names the local cloud's modules import from here (they never import moto's internals themselves).
from moto.acm.models import CertBundle, acm_backends  # noqa: E402
from moto.cloudformation import parsing as cfn_parsing  # noqa: E402
from moto.cloudformation.exceptions import (  # noqa: E402
    CloudFormationError,
    UnformattedGetAttTemplateException,
    ValidationError,
)
from moto.cloudformation.models import (  # noqa: E402
    ChangeSet,
    CloudFormationBackend,
    Stack,
    cloudformation_backends,
)
from moto.cloudformation.models import Event as StackEvent  # noqa: E402
from moto.cloudformation.parsing import OutputMap, ResourceMap  # noqa: E402
from moto.cloudformation.responses import CloudFormationResponse  # noqa: E402
from moto.cloudformation.utils import (  # noqa: E402
    generate_changeset_id,
    generate_stack_id,
    validate_create_change_set,
)
from moto.cloudfront.exceptions import CloudFrontException  # noqa: E402
from moto.cloudfront.models import cloudfront_backends  # noqa: E402
from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.core.common_types import TYPE_RESPONSE  # noqa: E402
from moto.core.exceptions import ServiceException  # noqa: E402
from moto.core.model_instances import model_data  # noqa: E402
from moto.core.responses import ActionResult, BaseResponse, EmptyResult  # noqa: E402
from moto.core.utils import camelcase_to_underscores, get_service_model, method_names_from_class, utcnow  # noqa: E402
from moto.ec2.models import ec2_backends  # noqa: E402
from moto.ec2.models.core import TaggedEC2Resource  # noqa: E402
from moto.elasticache.exceptions import (  # noqa: E402
    InvalidParameterCombinationException,
    InvalidParameterValueException,
)
from moto.elasticache.models import elasticache_backends  # noqa: E402
from moto.elasticache.responses import ElastiCacheResponse  # noqa: E402
from moto.elasticbeanstalk.responses import EBResponse  # noqa: E402
from moto.iam import access_control, policy_conditions  # noqa: E402
from moto.iam.access_control import CreateAccessKeyFailure, IAMUserAccessKey  # noqa: E402
from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: E402
from moto.iam.exceptions import NotFoundException as IAMNotFound  # noqa: E402
from moto.iam.models import AWSManagedPolicy, IAMBackend, ManagedPolicy, iam_backends  # noqa: E402
from moto.logs import models as logs_models  # noqa: E402
from moto.logs.exceptions import InvalidParameterException as LogsInvalidParameter  # noqa: E402
from moto.logs.models import LogsBackend, logs_backends  # noqa: E402
from moto.moto_api._internal.responses import MotoAPIResponse  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.rds.exceptions import InvalidParameterValue as RDSInvalidParameterValue  # noqa: E402
from moto.rds.exceptions import RDSClientError  # noqa: E402
from moto.rds.models import DBInstance as RDSDBInstance  # noqa: E402
from moto.rds.models import DBInstanceAutomatedBackup as RDSAutomatedBackup  # noqa: E402
from moto.rds.models import RDSBackend, rds_backends  # noqa: E402
from moto.rds.responses import RDSResponse  # noqa: E402
from moto.s3.exceptions import (  # noqa: E402
    BucketNotEmpty,
    CrossLocationLoggingProhibited,
    InvalidTargetBucketForLogging,
    MissingBucket,
)
from moto.s3.models import FakeBucket, S3Backend, s3_backends  # noqa: E402
from moto.s3.responses import S3Response  # noqa: E402
from moto.secretsmanager.exceptions import InvalidRequestException as SecretsInvalidRequest  # noqa: E402
from moto.secretsmanager.exceptions import SecretsManagerClientError  # noqa: E402
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends  # noqa: E402
from moto.secretsmanager.responses import SecretsManagerResponse  # noqa: E402
from moto.secretsmanager.utils import random_password  # noqa: E402
from moto.ses import models as ses_models  # noqa: E402
from moto.ses.exceptions import MessageRejectedError  # noqa: E402
from moto.ses.models import SESBackend, ses_backends  # noqa: E402
from moto.sesv2 import urls as sesv2_urls  # noqa: E402
from moto.sesv2.responses import SESV2Response  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402
from moto.sqs.models import SQSBackend, sqs_backends  # noqa: E402
from moto.ssm.models import Command as SSMCommand  # noqa: E402
from moto.ssm.models import SimpleSystemManagerBackend  # noqa: E402
from moto.ssm.responses import SimpleSystemManagerResponse  # noqa: E402
from moto.utilities.utils import get_partition  # noqa: E402

__all__ = [  # this module's own, then moto's names the local cloud's modules take from here
    "BACKENDS", "MotoMismatch", "TESTED", "USES", "WRITTEN_FOR", "bucket_cors", "check", "created_resources",
    "delete_created", "distribution_with_domain",
    "add", "installed_moto", "once", "problems", "queue_messages", "replace", "resource_map_place",
    "restore_sent_mail", "sent_mail", "template_from_s3", "template_resources",
    "AWSManagedPolicy", "ActionResult", "BaseResponse", "BucketNotEmpty", "ChangeSet", "CloudFormationBackend",
    "CloudFormationError", "CloudFormationResponse", "CloudFrontException", "CrossLocationLoggingProhibited",
    "DEFAULT_ACCOUNT_ID", "Dimension", "ElastiCacheResponse",
    "DomainDispatcherApplication", "EBResponse", "EmptyResult", "FakeBucket",
    "CreateAccessKeyFailure", "IAMBackend", "IAMNotFound", "IAMUserAccessKey", "LogsBackend", "LogsInvalidParameter",
    "logs_models",
    "InvalidParameterCombinationException", "InvalidParameterValueException", "InvalidTargetBucketForLogging",
    "ManagedPolicy", "MessageRejectedError", "Metric", "MetricDataQuery", "MetricStat", "MissingBucket",
    "MotoAPIResponse",
    "MotoRequestHandler", "OutputMap",
    "RDSAutomatedBackup", "RDSBackend", "RDSClientError", "RDSDBInstance", "RDSInvalidParameterValue",
    "RDSResponse", "ResourceMap", "S3Backend", "S3Response", "ServiceException", "SSMCommand",
    "SimpleSystemManagerBackend", "SimpleSystemManagerResponse",
    "Stack", "StackEvent",
    "TYPE_RESPONSE", "TaggedEC2Resource", "UnformattedGetAttTemplateException", "ValidationError", "access_control",
    "CertBundle", "acm_backends", "aws_managed_policies_data", "camelcase_to_underscores", "cfn_parsing",
    "cloudformation_backends", "cloudfront_backends", "cloudwatch_backends", "create_backend_app", "ec2_backends",
    "elasticache_backends", "generate_changeset_id", "generate_stack_id", "get_partition", "get_service_model",
    "iam_backends", "method_names_from_class", "model_data", "policy_conditions", "random_password", "rds_backends",
    "s3_backends", "SESBackend", "SESV2Response", "SQSBackend", "ses_backends", "sesv2_urls",
    "SecretsManagerBackend", "secretsmanager_backends", "SecretsInvalidRequest", "SecretsManagerClientError",
    "SecretsManagerResponse", "logs_backends", "sns_backends", "sqs_backends", "utcnow",
    "validate_create_change_set",
]

BACKENDS = threading.RLock()
_INSTALLED: set[str] = set()
_INSTALLING = threading.Lock()


def once(key: str, install: Callable[[], None]) -> None:
    """Run `install` (an extension put onto moto's classes) the first time `key` is installed in this
    process; LocalClouds started at once in several threads install it once."""
    with _INSTALLING:
        if key not in _INSTALLED:
            install()
            _INSTALLED.add(key)


def replace(owner: Any, name: str, value: Any) -> None:
    """Put `value` in place of moto's `owner.name`, which must exist: a replacement of something moto no
    longer has would never be called (check() names it first; this guards a use missing from USES)."""
    if not hasattr(owner, name):
        raise MotoMismatch(f"moto {installed_moto()} lacks {getattr(owner, '__name__', owner)}.{name}, which the "
                           f"local cloud replaces; eb_tools was written for moto {WRITTEN_FOR}")
    setattr(owner, name, value)


def add(owner: Any, name: str, value: Any) -> None:
    """Give moto's `owner` an operation it lacks. One moto has already would be shadowed unseen: a newer moto
    that implements it is named, so that the extension is reconsidered."""
    if hasattr(owner, name):
        raise MotoMismatch(f"moto {installed_moto()} has {getattr(owner, '__name__', owner)}.{name}, which the "
                           f"local cloud adds; eb_tools was written for moto {WRITTEN_FOR}")
    setattr(owner, name, value)


# -- CloudFormation's ResourceMap: the template's resources and the ones created (cfn_stacks) ----------
def template_resources(resources: ResourceMap) -> dict[str, dict[str, Any]]:
    """Every resource of the template, by logical id, conditions not applied."""
    found: dict[str, dict[str, Any]] = resources._resource_json_map
    return found


def created_resources(resources: ResourceMap) -> dict[str, Any]:
    """The resources created so far, by logical id: the map itself, which callers change."""
    found: dict[str, Any] = resources._parsed_resources
    return found


def delete_created(resources: ResourceMap, instance: Any, resource: dict[str, Any]) -> None:
    """Delete one created resource as moto's stack deletion does."""
    resources._delete_resource(instance, resource)


def resource_map_place(resources: ResourceMap) -> tuple[str, str]:
    """The account and region a map creates its resources in."""
    return str(resources._account_id), str(resources._region_name)


def template_from_s3(response: CloudFormationResponse, url: str) -> str:
    """A TemplateURL's body, read from the local cloud's S3."""
    return str(response._get_stack_from_s3_url(url))


# -- In-process reads and writes from outside a request (LocalCloud's records) --------------------------
@contextmanager
def _queue(account: str, region: str, name: str) -> Iterator[Any]:
    with BACKENDS:
        queue = sqs_backends[account][region].queues.get(name)
        if queue is None:
            yield None
            return
        with queue._messages_lock:
            yield queue


def queue_messages(account: str, region: str, name: str) -> list[tuple[str, dict[str, Any]]] | None:
    """Every message of the queue (in flight and waiting for a retry too): body and message attributes;
    None when there is no such queue."""
    with _queue(account, region, name) as queue:
        if queue is None:
            return None
        return [(message.body, dict(message.message_attributes or {})) for message in queue._messages]


def keep_version_id(account: str, bucket: str, key: str, current: str, wanted: str) -> None:
    """Give version `current` of an object the id `wanted`: a restored object keeps the version id it had
    (S3's API has no way to choose one; AWS never renumbers a version)."""
    with BACKENDS:
        for version in s3_backends[account]["aws"].buckets[bucket].keys.getlist(key, []):
            if version.version_id == current:
                version._version_id = wanted


def bucket_cors(name: str) -> list[dict[str, Any]] | None:
    """The CORS rules of bucket `name`, whatever its account, as PutBucketCors names their fields (an empty
    list: no CORS configuration); None when there is no such bucket."""
    with BACKENDS:
        place = s3_backends.bucket_accounts.get(name)
        bucket = s3_backends[place[1]][place[0]].buckets.get(name) if place else None
        if bucket is None:
            return None
        return [{"AllowedOrigins": list(rule.allowed_origins or []), "AllowedMethods": list(rule.allowed_methods or []),
                 "AllowedHeaders": list(rule.allowed_headers or []), "ExposeHeaders": list(rule.exposed_headers or []),
                 "MaxAgeSeconds": rule.max_age_seconds} for rule in bucket.cors]


def distribution_with_domain(account: str, domain: str) -> str | None:
    """The id of the CloudFront distribution whose domain name is `domain` (read in-process: it may be asked
    while a request holds the backends)."""
    distributions = cloudfront_backends[account]["aws"].distributions
    return next((d.distribution_id for d in distributions.values() if d.domain_name == domain), None)


def sent_mail(account: str, region: str) -> dict[str, Any]:
    """What SES has sent: each message's kind and fields, and the count SES's quota reports."""
    with BACKENDS:
        backend = ses_models.ses_backends[account][region]
        messages = [{"kind": type(message).__name__, "fields": dict(vars(message))}
                    for message in backend.sent_messages]
        return {"messages": messages, "count": backend.sent_message_count}


def restore_sent_mail(account: str, region: str, mail: dict[str, Any]) -> int:
    """Put messages `sent_mail` read back into SES (where /moto-api/data.json lists them); how many."""
    restored = 0
    with BACKENDS:
        backend = ses_models.ses_backends[account][region]
        for entry in mail.get("messages", []):
            kind = getattr(ses_models, str(entry.get("kind")), None)
            if not isinstance(kind, type) or kind.__module__ != ses_models.__name__:
                continue
            make: Any = kind.__new__  # moto's models register their instances in __new__
            message = make(kind)
            message.__dict__.update(entry.get("fields", {}))
            backend.sent_messages.append(message)
            restored += 1
        backend.sent_message_count += int(mail.get("count", 0))
    return restored
