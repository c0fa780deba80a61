"""The network types: VPC, Subnet, InternetGateway, VPCGatewayAttachment, RouteTable, Route,
SubnetRouteTableAssociation, EIP, NatGateway and VPCEndpoint.

moto creates each of these, but drops EnableDnsHostnames/EnableDnsSupport, a
subnet's MapPublicIpOnLaunch, the Tags of gateways, route tables and EIPs, fails
GetAtt Subnet.AvailabilityZone, and its SubnetRouteTableAssociation associates
nothing. The handlers call moto's EC2 backend as the matching EC2 operations
would, so DescribeVpcs, DescribeVpcAttribute,
DescribeSubnets, DescribeRouteTables, DescribeNatGateways, DescribeAddresses and
DescribeVpcEndpoints read back what the template said. An interface endpoint with private DNS is refused
where the VPC has one for its service already, as EC2 refuses it ("private-dns-enabled cannot be set because
there is already a conflicting DNS domain for ... in the VPC", e.g. fortinet/fortigate-autoscale-aws#43).
"""
from __future__ import annotations

import json
from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, flag, items, refuse, tag_dict
from eb_tools.cloud.moto_internals import ServiceException, ec2_backends


class InvalidParameter(ServiceException):
    code = "InvalidParameter"


def _ec2(place: Place) -> Any:
    return place.backend(ec2_backends)


def _tag(place: Place, resource_id: str, properties: dict[str, Any], resource_type: str) -> None:
    tags = tag_dict(properties.get("Tags", []), resource_type)
    if tags:
        _ec2(place).create_tags([resource_id], tags)


class VPC(Handler):
    type_name = "AWS::EC2::VPC"
    properties = frozenset({"CidrBlock", "EnableDnsHostnames", "EnableDnsSupport", "InstanceTenancy", "Tags"})
    attributes = frozenset({"VpcId", "CidrBlock", "DefaultSecurityGroup"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        ec2 = _ec2(place)
        vpc = ec2.create_vpc(cidr_block=cls.required(properties, "CidrBlock"),
                             instance_tenancy=properties.get("InstanceTenancy", "default"))
        for prop, attribute in (("EnableDnsSupport", "enable_dns_support"),
                                ("EnableDnsHostnames", "enable_dns_hostnames")):
            if prop in properties:
                ec2.modify_vpc_attribute(vpc.id, attribute, flag(properties[prop]))
        _tag(place, vpc.id, properties, cls.type_name)
        return Resource(cls, vpc.id, place, {
            "VpcId": vpc.id, "CidrBlock": vpc.cidr_block,
            "DefaultSecurityGroup": lambda: ec2.get_security_group_from_name("default", vpc_id=vpc.id).id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_vpc(resource.physical_resource_id)


class Subnet(Handler):
    type_name = "AWS::EC2::Subnet"
    properties = frozenset({"VpcId", "CidrBlock", "AvailabilityZone", "MapPublicIpOnLaunch", "Tags"})
    attributes = frozenset({"SubnetId", "AvailabilityZone", "VpcId", "CidrBlock"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        ec2 = _ec2(place)
        subnet = ec2.create_subnet(vpc_id=cls.required(properties, "VpcId"),
                                   cidr_block=cls.required(properties, "CidrBlock"),
                                   availability_zone=properties.get("AvailabilityZone"))
        if "MapPublicIpOnLaunch" in properties:
            ec2.modify_subnet_attribute(subnet.id, "map_public_ip_on_launch", flag(properties["MapPublicIpOnLaunch"]))
        _tag(place, subnet.id, properties, cls.type_name)
        return Resource(cls, subnet.id, place, {"SubnetId": subnet.id, "AvailabilityZone": subnet.availability_zone,
                                                 "VpcId": subnet.vpc_id, "CidrBlock": subnet.cidr_block})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_subnet(resource.physical_resource_id)


class InternetGateway(Handler):
    type_name = "AWS::EC2::InternetGateway"
    properties = frozenset({"Tags"})
    attributes = frozenset({"InternetGatewayId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        gateway = _ec2(place).create_internet_gateway()
        _tag(place, gateway.id, properties, cls.type_name)
        return Resource(cls, gateway.id, place, {"InternetGatewayId": gateway.id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_internet_gateway(resource.physical_resource_id)


class VPCGatewayAttachment(Handler):
    type_name = "AWS::EC2::VPCGatewayAttachment"
    properties = frozenset({"VpcId", "InternetGatewayId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        vpc_id, gateway_id = cls.required(properties, "VpcId"), cls.required(properties, "InternetGatewayId")
        _ec2(place).attach_internet_gateway(internet_gateway_id=gateway_id, vpc_id=vpc_id)
        return Resource(cls, f"IGW|{vpc_id}", place, vpc_id=vpc_id, gateway_id=gateway_id)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).detach_internet_gateway(resource.state["gateway_id"], resource.state["vpc_id"])


class RouteTable(Handler):
    type_name = "AWS::EC2::RouteTable"
    properties = frozenset({"VpcId", "Tags"})
    attributes = frozenset({"RouteTableId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        table = _ec2(place).create_route_table(vpc_id=cls.required(properties, "VpcId"))
        _tag(place, table.id, properties, cls.type_name)
        return Resource(cls, table.id, place, {"RouteTableId": table.id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_route_table(resource.physical_resource_id)


class Route(Handler):
    type_name = "AWS::EC2::Route"
    properties = frozenset({"RouteTableId", "DestinationCidrBlock", "GatewayId", "NatGatewayId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        table_id = cls.required(properties, "RouteTableId")
        destination = cls.required(properties, "DestinationCidrBlock")
        if ("GatewayId" in properties) == ("NatGatewayId" in properties):
            refuse(cls.type_name, "give exactly one target: GatewayId or NatGatewayId")
        _ec2(place).create_route(table_id, destination, gateway_id=properties.get("GatewayId"),
                                 nat_gateway_id=properties.get("NatGatewayId"))
        return Resource(cls, f"{table_id}|{destination}", place, table_id=table_id, destination=destination)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_route(resource.state["table_id"], resource.state["destination"])


class SubnetRouteTableAssociation(Handler):
    type_name = "AWS::EC2::SubnetRouteTableAssociation"
    properties = frozenset({"RouteTableId", "SubnetId"})
    attributes = frozenset({"Id"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        # moto's create_subnet_association (its CloudFormation path) records nothing on the route table
        association_id = _ec2(place).associate_route_table(
            route_table_id=cls.required(properties, "RouteTableId"), subnet_id=cls.required(properties, "SubnetId"))
        return Resource(cls, association_id, place, {"Id": association_id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).disassociate_route_table(resource.physical_resource_id)


class EIP(Handler):
    type_name = "AWS::EC2::EIP"
    properties = frozenset({"Domain", "Tags"})
    attributes = frozenset({"AllocationId", "PublicIp"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        if properties.get("Domain", "vpc") != "vpc":
            refuse(cls.type_name, "Domain can only be vpc (EC2-Classic is retired)")
        address = _ec2(place).allocate_address(domain="vpc", tags=tag_dict(properties.get("Tags", []), cls.type_name))
        return Resource(cls, address.public_ip, place,
                        {"AllocationId": address.allocation_id, "PublicIp": address.public_ip})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).release_address(allocation_id=resource.attributes["AllocationId"])


class NatGateway(Handler):
    type_name = "AWS::EC2::NatGateway"
    properties = frozenset({"AllocationId", "SubnetId", "ConnectivityType", "Tags"})
    attributes = frozenset({"NatGatewayId"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        connectivity = properties.get("ConnectivityType", "public")
        allocation = properties.get("AllocationId")
        if connectivity == "public" and not allocation:
            refuse(cls.type_name, "a public NAT gateway needs AllocationId")
        gateway = _ec2(place).create_nat_gateway(
            cls.required(properties, "SubnetId"), allocation,
            tags=tag_dict(properties.get("Tags", []), cls.type_name), connectivity_type=connectivity)
        return Resource(cls, gateway.id, place, {"NatGatewayId": gateway.id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_nat_gateway(resource.physical_resource_id)


class VPCEndpoint(Handler):
    type_name = "AWS::EC2::VPCEndpoint"
    properties = frozenset({"VpcId", "ServiceName", "VpcEndpointType", "RouteTableIds", "PolicyDocument",
                            "SubnetIds", "SecurityGroupIds", "PrivateDnsEnabled"})
    attributes = frozenset({"Id"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        policy = properties.get("PolicyDocument")
        if flag(properties.get("PrivateDnsEnabled", False)):
            _check_private_dns(place, str(cls.required(properties, "VpcId")), str(properties.get("ServiceName")))
        endpoint = _ec2(place).create_vpc_endpoint(
            vpc_id=cls.required(properties, "VpcId"), service_name=cls.required(properties, "ServiceName"),
            endpoint_type=properties.get("VpcEndpointType", "Gateway"),
            policy_document=policy if policy is None or isinstance(policy, str) else json.dumps(policy),
            route_table_ids=items(properties.get("RouteTableIds", []), cls.type_name, "RouteTableIds"),
            subnet_ids=items(properties.get("SubnetIds", []), cls.type_name, "SubnetIds"),
            security_group_ids=items(properties.get("SecurityGroupIds", []), cls.type_name, "SecurityGroupIds"),
            private_dns_enabled=flag(properties["PrivateDnsEnabled"]) if "PrivateDnsEnabled" in properties else None)
        return Resource(cls, endpoint.id, place, {"Id": endpoint.id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _ec2(resource.place).delete_vpc_endpoints([resource.physical_resource_id])


def _check_private_dns(place: Place, vpc: str, service: str) -> None:
    """One endpoint per service and VPC may answer for the service's own DNS name."""
    taken = any(e.vpc_id == vpc and e.service_name == service and e.private_dns_enabled
                for e in _ec2(place).vpc_end_points.values())
    if taken:
        parts = service.split(".")  # com.amazonaws.REGION.SERVICE
        domain = f"{parts[-1]}.{parts[-2]}.amazonaws.com" if len(parts) >= 4 else service
        raise InvalidParameter(f"private-dns-enabled cannot be set because there is already a conflicting DNS "
                               f"domain for {domain} in the VPC {vpc}")


HANDLERS: tuple[type[Handler], ...] = (VPC, Subnet, InternetGateway, VPCGatewayAttachment, RouteTable, Route,
                                       SubnetRouteTableAssociation, EIP, NatGateway, VPCEndpoint)
