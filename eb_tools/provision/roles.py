"""Least-privilege instance profiles for the web and worker tiers, and Elastic Beanstalk's service role.

Each policy names the stage's own resources: its buckets, its queue, its
secrets, its environments' log groups. This replaces the AWSElasticBeanstalkWebTier
and WorkerTier managed policies, which grant the same platform actions on every
bucket, queue and environment of the account. The only `*` resource is
cloudwatch:PutMetricData, which AWS authorizes on no resource type at all. Each
instance role also carries AWS's AmazonSSMManagedInstanceCore, for Systems
Manager (`eb_tools run`, `eb_tools shell`: no SSH anywhere).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Join, Ref, Sub, Template
from troposphere.iam import InstanceProfile, ManagedPolicy, Role

from eb_tools.provision.common import arn, assume_role, policy, statement
from eb_tools.provision.storage import INCOMING_PREFIX, SERVED_PREFIX  # browsers write one, the worker the other

# The DynamoDB table sqsd creates for cron.yaml leader election in the worker environment's own stack.
CRON_LEADER_TABLE = "table/awseb-e-*-stack-AWSEBWorkerCronLeaderRegistry*"
# What Systems Manager's agent (preinstalled on EB's Amazon Linux 2023 instances) needs to register the instance
# and serve Run Command and Session Manager: `eb_tools run` and `shell` reach the instances through it, so no
# instance has a key pair or an open port 22. AWS's managed policy rather than its actions copied inline: AWS
# keeps it current with the agent (its document as moto ships it: ssm:UpdateInstanceInformation and the
# association and inventory calls, ssmmessages:Create/Open Control/DataChannel, ec2messages' six), all on `*`,
# which the stage's own policies never grant.
SESSION_MANAGER_POLICY = "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
SERVICE_ROLE_POLICIES = [
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSElasticBeanstalkEnhancedHealth",
    "arn:${AWS::Partition}:iam::aws:policy/AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy",
]


@dataclass(frozen=True)
class Access:
    """What the instances may touch: ARNs (or intrinsic functions that give them)."""

    uploads: Any
    backup: Any
    queue: Any
    secrets: list[Any]
    mail_identity: Any  # the SES identity the stage sends from


@dataclass(frozen=True)
class Profiles:
    web: InstanceProfile
    worker: InstanceProfile
    service_role: Role


def build(template: Template, application: str, web_envs: list[str], worker_env: str, access: Access) -> Profiles:
    """`web_envs`: the stage's web environments (two for blue/green), which share the web profile."""
    web = _instance_profile(template, "Web", [
        *_platform(application, web_envs),
        statement("ReadOwnSecrets", ["secretsmanager:GetSecretValue"], access.secrets),
        statement("PresignAndCheckUploads", ["s3:PutObject", "s3:GetObject"],
                  [_objects(access.uploads, INCOMING_PREFIX)]),
        # HeadBucket (deep health) and a 404 rather than a 403 for an upload that has not arrived yet.
        statement("ListUploads", ["s3:ListBucket"], [access.uploads]),
        statement("QueueTasks", ["sqs:SendMessage", "sqs:GetQueueAttributes"], [access.queue]),
    ])
    worker = _instance_profile(template, "Worker", [
        *_platform(application, [worker_env]),
        statement("ReadOwnSecrets", ["secretsmanager:GetSecretValue"], access.secrets),
        statement("ConsumeQueue", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                   "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], [access.queue]),
        # GetObjectVersion: the worker reads the version completion recorded (S3's GetObject with a versionId).
        statement("ReadUploads", ["s3:GetObject", "s3:GetObjectVersion"], [_objects(access.uploads, INCOMING_PREFIX)]),
        statement("WriteServedImages", ["s3:PutObject"], [_objects(access.uploads, SERVED_PREFIX)]),
        statement("ListUploads", ["s3:ListBucket"], [access.uploads]),
        statement("WriteBackups", ["s3:PutObject"], [_objects(access.backup)]),
        # SES authorizes SendEmail on the identity that covers the From address, the address's own or its
        # domain's: the policy's Resource is that identity's ARN (AWS Knowledge Center, "How do I resolve a 554
        # Access denied error when I send an email from my IAM user in Amazon SES?": "The Resource element must
        # be set to the identity's ARN", e.g. arn:aws:ses:eu-west-1:123456789012:identity/example.com). The
        # stage's own identity only (MAIL_FROM), and no SendRawEmail: worker/tasks/email.py never calls it.
        statement("SendEmail", ["ses:SendEmail"], [access.mail_identity]),
        # Push targets are SNS endpoints and topics the app creates per device: this account and region only.
        statement("PublishPush", ["sns:Publish"], [arn("sns", "*")]),
        statement("CronLeaderElection", ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem",
                                         "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
                                         "dynamodb:UpdateItem"], [arn("dynamodb", CRON_LEADER_TABLE)]),
        # sqsd publishes its queue metrics. PutMetricData has no resource type in IAM: "*" is the only resource
        # AWS accepts for it (the AWSElasticBeanstalkWorkerTier managed policy grants it the same way).
        statement("SqsdMetrics", ["cloudwatch:PutMetricData"], ["*"]),
    ])
    service_role = template.add_resource(Role(
        "ServiceRole", AssumeRolePolicyDocument=assume_role(
            "elasticbeanstalk.amazonaws.com", StringEquals={"sts:ExternalId": "elasticbeanstalk"}),
        ManagedPolicyArns=[Sub(arn_text) for arn_text in SERVICE_ROLE_POLICIES]))
    return Profiles(template.add_resource(web), template.add_resource(worker), service_role)


def _platform(application: str, environments: list[str]) -> list[dict[str, Any]]:
    """What the EB platform on the instance does: fetch the bundle, publish logs and health, stream logs."""
    storage = "elasticbeanstalk-${AWS::Region}-${AWS::AccountId}"
    return [
        statement("FetchBundleAndPublishLogs", ["s3:GetObject", "s3:PutObject"],
                  [Sub(f"arn:${{AWS::Partition}}:s3:::{storage}/*")]),
        statement("ListEbStorage", ["s3:ListBucket"], [Sub(f"arn:${{AWS::Partition}}:s3:::{storage}")]),
        statement("StreamLogs", ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                  [arn("logs", f"log-group:/aws/elasticbeanstalk/{env}/*") for env in environments]),
        statement("ReportHealth", ["elasticbeanstalk:PutInstanceStatistics"],
                  [arn("elasticbeanstalk", f"application/{application}"),
                   *(arn("elasticbeanstalk", f"environment/{application}/{env}") for env in environments)]),
    ]


def _instance_profile(template: Template, tier: str, statements: list[dict[str, Any]]) -> InstanceProfile:
    role = template.add_resource(Role(f"{tier}InstanceRole", AssumeRolePolicyDocument=assume_role("ec2.amazonaws.com"),
                                      ManagedPolicyArns=[Sub(SESSION_MANAGER_POLICY)]))
    template.add_resource(ManagedPolicy(f"{tier}InstancePolicy", Roles=[Ref(role)], PolicyDocument=policy(*statements),
                                        Description=Sub(f"${{AWS::StackName}} {tier.lower()} instances")))
    return InstanceProfile(f"{tier}InstanceProfile", Roles=[Ref(role)])


def _objects(bucket_arn: Any, prefix: str = "") -> Join:
    return Join("", [bucket_arn, f"/{prefix}*"])

