"""AWS::EC2::SecurityGroup, ::SecurityGroupIngress and ::SecurityGroupEgress: the security-group chain.

moto ignores a group's SecurityGroupEgress (the group keeps EC2's allow-all
egress, so "this group talks only to the database" is silently false), drops the
Description of rules from other groups, and has no SecurityGroupEgress model.
The handlers authorize every rule through moto's EC2 backend; a group that lists
SecurityGroupEgress loses the default allow-all rule, as CloudFormation does, and
DescribeSecurityGroups reads back the chain (UserIdGroupPairs with descriptions).
"""
from __future__ import annotations

from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, items, refuse, tag_dict
from eb_tools.cloud.moto_internals import ec2_backends

GROUP = "AWS::EC2::SecurityGroup"
RULE = frozenset({"IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6", "Description"})
INGRESS_PEERS = frozenset({"SourceSecurityGroupId", "SourcePrefixListId"})
EGRESS_PEERS = frozenset({"DestinationSecurityGroupId", "DestinationPrefixListId"})


def _ec2(place: Place) -> Any:
    return place.backend(ec2_backends)


def _permission(rule: dict[str, Any], resource_type: str, egress: bool) -> dict[str, Any]:
    """A CloudFormation rule as the arguments of moto's authorize_security_group_ingress/egress."""
    group_key, prefix_key = ("DestinationSecurityGroupId", "DestinationPrefixListId") if egress else (
        "SourceSecurityGroupId", "SourcePrefixListId")
    peers = [key for key in ("CidrIp", "CidrIpv6", group_key, prefix_key) if rule.get(key)]
    if len(peers) != 1:
        refuse(resource_type, f"a rule needs exactly one of CidrIp, CidrIpv6, {group_key}, {prefix_key}")
    description = {"Description": rule["Description"]} if "Description" in rule else {}
    permission: dict[str, Any] = {
        "ip_protocol": str(rule["IpProtocol"]), "from_port": rule.get("FromPort"), "to_port": rule.get("ToPort"),
        "ip_ranges": [], "source_groups": [], "prefix_list_ids": []}
    peer = peers[0]
    if peer in ("CidrIp", "CidrIpv6"):
        permission["ip_ranges"] = [{peer: rule[peer], **description}]
    elif peer == group_key:
        permission["source_groups"] = [{"GroupId": rule[group_key], **description}]
    else:
        permission["prefix_list_ids"] = [{"PrefixListId": rule[prefix_key], **description}]
    return permission


def _rules(value: Any, resource_type: str, egress: bool) -> list[dict[str, Any]]:
    supported = RULE | (EGRESS_PEERS if egress else INGRESS_PEERS)
    path = "SecurityGroupEgress" if egress else "SecurityGroupIngress"
    return [_permission(checked(rule, supported, resource_type, f"{path}[]", required={"IpProtocol"}), resource_type,
                        egress)
            for rule in items(value, resource_type, path)]


class SecurityGroup(Handler):
    type_name = GROUP
    name_property = "GroupName"
    properties = frozenset({"GroupName", "GroupDescription", "VpcId", "SecurityGroupIngress",
                            "SecurityGroupEgress", "Tags"})
    attributes = frozenset({"GroupId", "VpcId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        ingress = _rules(properties.get("SecurityGroupIngress", []), GROUP, egress=False)
        egress = _rules(properties.get("SecurityGroupEgress", []), GROUP, egress=True)
        ec2 = _ec2(place)
        group = ec2.create_security_group(name=name, description=cls.required(properties, "GroupDescription"),
                                          vpc_id=properties.get("VpcId"),
                                          tags=tag_dict(properties.get("Tags", []), GROUP))
        resource = Resource(cls, group.id, place, {"GroupId": group.id, "VpcId": group.vpc_id})
        try:
            for permission in ingress:
                ec2.authorize_security_group_ingress(group_name_or_id=group.id, vpc_id=group.vpc_id, **permission)
            if "SecurityGroupEgress" in properties:
                # CloudFormation replaces EC2's default allow-all egress with the listed rules
                ec2.revoke_security_group_egress(group.id, None, None, None, [],
                                                 security_rule_ids=[rule.id for rule in group.egress_rules])
            for permission in egress:
                ec2.authorize_security_group_egress(group_name_or_id=group.id, vpc_id=group.vpc_id, **permission)
        except Exception:
            cls.delete(resource)  # as CloudFormation, leave no half-made group behind
            raise
        return resource

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_security_group(group_id=resource.physical_resource_id)


class SecurityGroupIngress(Handler):
    type_name = "AWS::EC2::SecurityGroupIngress"
    properties = frozenset({"GroupId", *RULE, *INGRESS_PEERS})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        group_id = cls.required(properties, "GroupId")
        rules, _ = _ec2(place).authorize_security_group_ingress(
            group_name_or_id=group_id, **_permission(properties, cls.type_name, egress=False))
        return Resource(cls, rules[0].id, place, group_id=group_id)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).revoke_security_group_ingress(
            resource.state["group_id"], None, None, None, [], security_rule_ids=[resource.physical_resource_id])


class SecurityGroupEgress(Handler):
    """A rule added to a group; unlike the SecurityGroupEgress property it keeps the default rule."""

    type_name = "AWS::EC2::SecurityGroupEgress"
    properties = frozenset({"GroupId", *RULE, *EGRESS_PEERS})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        group_id = cls.required(properties, "GroupId")
        rules, _ = _ec2(place).authorize_security_group_egress(
            group_name_or_id=group_id, **_permission(properties, cls.type_name, egress=True))
        return Resource(cls, rules[0].id, place, group_id=group_id)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).revoke_security_group_egress(
            resource.state["group_id"], None, None, None, [], security_rule_ids=[resource.physical_resource_id])


HANDLERS: tuple[type[Handler], ...] = (SecurityGroup, SecurityGroupIngress, SecurityGroupEgress)
