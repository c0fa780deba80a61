"""What every template module shares: ports, ARNs built in the stack's own partition, checkov skips, policies."""
from __future__ import annotations

from typing import Any

from troposphere import AWSObject, Sub

# nginx on every EB instance listens on 80; the load balancer forwards there.
APP_PORT = 80
MYSQL_PORT = 3306
REDIS_PORT = 6379
ANYWHERE = "0.0.0.0/0"

# Data that must survive its resource: a final snapshot where the service has one, else keep it.
SNAPSHOT = {"DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot"}
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
# Every encrypted store uses its service's AWS managed key.
CMK_SKIP = "encrypted with the AWS managed key: AWS::KMS::Key is outside the resource types eb_tools provisions"


def keep_data(resource: AWSObject, policy: dict[str, str]) -> AWSObject:
    """Set DeletionPolicy and UpdateReplacePolicy: a stack update or delete never loses the data."""
    resource.DeletionPolicy = policy["DeletionPolicy"]
    resource.UpdateReplacePolicy = policy["UpdateReplacePolicy"]
    return resource


def skip_checkov(resource: AWSObject, **reasons: str) -> AWSObject:
    """Record the checkov checks this resource fails on purpose, each with its reason (checkov reads the
    `Metadata: checkov: skip` list and reports the check as skipped, with the comment)."""
    skips = resource.resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
    skips.extend({"id": check, "comment": why} for check, why in reasons.items())
    return resource


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Sub:
    """An ARN in this stack's partition, region and account: `arn("sqs", "queue")`."""
    region_part = "${AWS::Region}" if region else ""
    account_part = "${AWS::AccountId}" if account else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region_part}:{account_part}:{resource}")


def statement(sid: str, actions: list[str], resources: list[Any], **extra: Any) -> dict[str, Any]:
    """One Allow statement of an IAM policy."""
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role(service: str, **condition: Any) -> dict[str, Any]:
    """A trust policy letting one AWS service assume the role."""
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        trust["Condition"] = condition
    return policy(trust)
