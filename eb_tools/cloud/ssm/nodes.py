"""Which instances are Systems Manager's managed nodes: Elastic Beanstalk's instances that run on this machine
and whose instance profile lets the SSM agent register with the service.

On AWS an instance is a managed node once its SSM Agent (preinstalled on Amazon Linux 2023) has registered
with Systems Manager, which takes the permissions of the AmazonSSMManagedInstanceCore managed policy in the
instance profile, ssm:UpdateInstanceInformation first (the agent's registration and heartbeat; the policy's
document as moto ships it); an instance without them is "not in a valid state" for Run Command and "not
connected" for Session Manager (users' reports of both errors name the missing policy as the cause). Here the
same rule decides, read from the instance profile through IAM, and only a running instance answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eb_tools.cloud.elasticbeanstalk.models import eb_local_backends
from eb_tools.cloud.moto_internals import IAMNotFound, access_control, get_partition, iam_backends

if TYPE_CHECKING:
    from eb_tools.cloud.instances.hosting import Hosting

AGENT_ACTION = "ssm:UpdateInstanceInformation"  # what the agent calls to register and report itself online


@dataclass(frozen=True)
class Node:
    instance_id: str
    environment: str  # the EB environment that launched it
    role: str  # the instance profile's role, the agent's credentials


def managed(account: str, region: str, hosting: Hosting | None) -> list[Node]:
    """The managed nodes of `region`, all online (an instance that stops leaves the list)."""
    found = []
    for env, instance, profile in eb_local_backends[account][region].launched_instances():
        if hosting is None or not hosting.running(instance.id):
            continue
        role = _agent_role(account, region, profile)
        if role is not None:
            found.append(Node(instance.id, env.name, role))
    return found


def find(account: str, region: str, hosting: Hosting | None, instance_id: str) -> Node | None:
    return next((n for n in managed(account, region, hosting) if n.instance_id == instance_id), None)


def _agent_role(account: str, region: str, profile: str | None) -> str | None:
    """The role of `profile` (a name or an ARN) when one of its policies, managed or inline, allows the
    agent to register; None otherwise (no such profile, no role, no permission)."""
    if not profile:
        return None
    iam = iam_backends[account][get_partition(region)]
    try:
        found = iam.get_instance_profile_by_arn(profile) if profile.startswith("arn:") \
            else iam.get_instance_profile(profile)
    except IAMNotFound:
        return None
    for role in found.roles:
        documents = [*role.managed_policies.values(), *role.policies.values()]
        if any(access_control.IAMPolicy(document).is_action_permitted(AGENT_ACTION)
               == access_control.PermissionResult.PERMITTED for document in documents):
            return str(role.name)
    return None
