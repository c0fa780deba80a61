"""The instance a command or a session goes to: one of a tier's, by id or the healthiest, and a managed node.

EB reports an environment's instances (DescribeEnvironmentResources, the EC2 instance ids) and their health
(DescribeInstancesHealth, enhanced health, which the stages' .ebextensions turn on); Systems Manager reports
which instances its agent manages (DescribeInstanceInformation: PingStatus Online). An instance it does not
manage would make SendCommand fail with InvalidInstanceId and StartSession with TargetNotConnected, whose
texts do not say why: the check here does, before anything is sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.errors import RemoteError
from eb_tools.stage import ebenv
from eb_tools.stage.target import StageTarget


@dataclass(frozen=True)
class Node:
    stage: str
    tier: str
    environment: str
    instance_id: str

    def __str__(self) -> str:
        return f"{self.instance_id} ({self.environment})"


def choose(where: StageTarget, tier: str, instance_id: str | None) -> Node:
    """The tier's instance `instance_id`, or its healthiest; RemoteError (one line) for a stage that is not
    provisioned, an unknown instance or one Systems Manager does not manage."""
    where.verify()
    with where.naming_errors():
        environment = where.live()[tier]
        eb = where.client("elasticbeanstalk")
        if environment not in ebenv.describe(eb, where.application, [environment]):
            raise RemoteError(f"stage {where.name} is not provisioned: it has no {tier} environment {environment}; "
                              f"run eb_tools provision {where.name}")
        resources = eb.describe_environment_resources(EnvironmentName=environment)["EnvironmentResources"]
        running = [i["Id"] for i in resources.get("Instances", [])]
        if instance_id is not None and instance_id not in running:
            raise RemoteError(f"unknown instance {instance_id}: stage {where.name}'s {tier} environment "
                              f"{environment} runs {', '.join(running) or 'no instance'}")
        if not running:
            raise RemoteError(f"stage {where.name}'s {tier} environment {environment} runs no instance now "
                              f"(eb_tools status {where.name})")
        node = Node(where.name, tier, environment, instance_id or _healthiest(eb, environment, running))
        _require_managed(where.client("ssm"), node)
    return node


def _healthiest(eb: Any, environment: str, running: list[str]) -> str:
    """The first instance whose enhanced health is Ok, else the first (an environment without enhanced health
    reports none)."""
    try:
        health = eb.describe_instances_health(EnvironmentName=environment, AttributeNames=["HealthStatus"])
    except ClientError:
        return running[0]
    ok = {i["InstanceId"] for i in health.get("InstanceHealthList", []) if i.get("HealthStatus") == "Ok"}
    return next((i for i in running if i in ok), running[0])


def _require_managed(ssm: Any, node: Node) -> None:
    found = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [node.instance_id]}])["InstanceInformationList"]
    ping = found[0].get("PingStatus") if found else None
    if ping != "Online":
        state = f"its agent is {ping}" if ping else "no agent registered it"
        raise RemoteError(f"instance {node} is not managed by Systems Manager ({state}): its instance profile needs "
                          f"AWS's AmazonSSMManagedInstanceCore policy, which eb_tools provision {node.stage} "
                          "attaches, and a way to SSM's endpoints (internet access, NAT or VPC endpoints)")
