"""AWS::IAM::Role, AWS::IAM::InstanceProfile and AWS::IAM::ManagedPolicy: the instances' permissions.

moto's Role model ignores ManagedPolicyArns and stores inline Policies without
IAM's document validation. The handlers create through moto's IAM backend as
CreateRole, PutRolePolicy, AttachRolePolicy, CreatePolicy and
CreateInstanceProfile do (a malformed document fails as in IAM), so GetRole,
GetRolePolicy, ListAttachedRolePolicies, GetPolicyVersion and GetInstanceProfile
read back what the template said. moto loads AWS managed policies only on
request; one a template attaches is loaded from moto's copy of AWS's list when
it is on it, so only a policy AWS does not have fails, as in IAM.
"""
from __future__ import annotations

import json
from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, items, tag_dict
from eb_tools.cloud.moto_internals import AWSManagedPolicy, aws_managed_policies_data, iam_backends


def _backend(place: Place) -> Any:
    return place.global_backend(iam_backends)


def _document(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _attach(backend: Any, arn: str, role_name: str, place: Place) -> None:
    """AttachRolePolicy, with an AWS managed policy loaded first if AWS has it and moto has not loaded it."""
    prefix = f"arn:{place.partition}:iam::aws:policy/"
    if arn.startswith(prefix) and arn not in backend.managed_policies:
        known = json.loads(aws_managed_policies_data).get(arn.rsplit("/", 1)[1])
        if known is not None:
            policy = AWSManagedPolicy.from_data(arn.rsplit("/", 1)[1], place.account_id, place.region, known)
            if policy.arn == arn:
                backend.managed_policies[arn] = policy
    backend.attach_role_policy(arn, role_name)


def _tags(properties: dict[str, Any], resource_type: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tag_dict(properties.get("Tags", []), resource_type).items()]


class Role(Handler):
    type_name = "AWS::IAM::Role"
    name_property = "RoleName"
    properties = frozenset({"RoleName", "AssumeRolePolicyDocument", "Description", "ManagedPolicyArns",
                            "MaxSessionDuration", "Path", "PermissionsBoundary", "Policies", "Tags"})
    attributes = frozenset({"Arn", "RoleId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        backend = _backend(place)
        name = name[:64]  # IAM's limit, to which CloudFormation's generated names are cut
        role = backend.create_role(
            role_name=name, assume_role_policy_document=_document(cls.required(properties, "AssumeRolePolicyDocument")),
            path=properties.get("Path", "/"), permissions_boundary=properties.get("PermissionsBoundary"),
            description=properties.get("Description", ""), tags=_tags(properties, cls.type_name),
            max_session_duration=str(properties.get("MaxSessionDuration", 3600)))
        resource = Resource(cls, name, place, {"Arn": role.arn, "RoleId": role.id})
        try:
            for policy in items(properties.get("Policies", []), cls.type_name, "Policies"):
                checked(policy, (), cls.type_name, "Policies[]", required={"PolicyName", "PolicyDocument"})
                backend.put_role_policy(name, policy["PolicyName"], _document(policy["PolicyDocument"]))
            for arn in items(properties.get("ManagedPolicyArns", []), cls.type_name, "ManagedPolicyArns"):
                _attach(backend, arn, name, place)
        except Exception:
            cls.delete(resource)  # as CloudFormation, leave no half-made role behind
            raise
        return resource

    @classmethod
    def delete(cls, resource: Resource) -> None:
        """CloudFormation removes the role's inline and attached policies before DeleteRole."""
        backend = _backend(resource.place)
        role = backend.get_role(resource.physical_resource_id)
        for arn in list(role.managed_policies):
            backend.detach_role_policy(arn, role.name)
        for policy_name in list(role.policies):
            backend.delete_role_policy(role.name, policy_name)
        backend.delete_role(role.name)


class InstanceProfile(Handler):
    type_name = "AWS::IAM::InstanceProfile"
    name_property = "InstanceProfileName"
    properties = frozenset({"InstanceProfileName", "Path", "Roles"})
    attributes = frozenset({"Arn"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        profile = _backend(place).create_instance_profile(
            name=name[:128], path=properties.get("Path", "/"),
            role_names=items(cls.required(properties, "Roles"), cls.type_name, "Roles"))
        return Resource(cls, profile.name, place, {"Arn": profile.arn})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _backend(resource.place).delete_instance_profile(resource.physical_resource_id, ignore_attached_roles=True)


class ManagedPolicy(Handler):
    type_name = "AWS::IAM::ManagedPolicy"
    properties = frozenset({"ManagedPolicyName", "PolicyDocument", "Description", "Path", "Roles"})
    attributes = frozenset({"PolicyArn"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        backend = _backend(place)
        policy = backend.create_policy(
            description=properties.get("Description", ""), path=properties.get("Path", "/"),
            policy_document=_document(cls.required(properties, "PolicyDocument")),
            policy_name=properties.get("ManagedPolicyName", name)[:128], tags=[])
        resource = Resource(cls, policy.arn, place, {"PolicyArn": policy.arn})
        try:
            for role_name in items(properties.get("Roles", []), cls.type_name, "Roles"):
                backend.attach_role_policy(policy.arn, role_name)
        except Exception:
            cls.delete(resource)
            raise
        return resource

    @classmethod
    def delete(cls, resource: Resource) -> None:
        """CloudFormation detaches the policy from its roles before DeletePolicy."""
        backend = _backend(resource.place)
        arn = resource.physical_resource_id
        for role in backend.get_roles():
            if arn in role.managed_policies:
                backend.detach_role_policy(arn, role.name)
        backend.delete_policy(arn)


HANDLERS: tuple[type[Handler], ...] = (Role, InstanceProfile, ManagedPolicy)
