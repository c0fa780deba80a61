"""The network of one isolation group: a VPC over two availability zones that its stages share.

Public subnets hold the load balancers (and, without NAT, the instances, with
public addresses); private subnets hold RDS and Redis (and, with NAT, the
instances). Each private subnet has a route table of its own, so turning NAT on
later adds routes instead of replacing tables. S3 traffic goes through a gateway
endpoint and never leaves the network.

Without NAT, a network whose stages rotate their database secret gets an interface endpoint for Secrets
Manager in its private subnets, where the rotation function runs (a Lambda function in a VPC has no public
address, so only NAT or an endpoint leads it to the API). It belongs to the network, not to a stage: private
DNS makes Secrets Manager's own name answer with the endpoint's addresses in the whole VPC, which one endpoint
per service may do ("private-dns-enabled cannot be set because there is already a conflicting DNS domain",
e.g. fortinet/fortigate-autoscale-aws#43), and for the same reason every caller of Secrets Manager in the VPC
(the instances too) goes through it: its security group lets the VPC in on 443.
"""
from __future__ import annotations

import ipaddress

from troposphere import GetAtt, GetAZs, Join, Output, Ref, Select, Sub, Tags, Template
from troposphere.ec2 import (
    EIP,
    VPC,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetRouteTableAssociation,
    VPCEndpoint,
    VPCGatewayAttachment,
)

from eb_tools.provision.common import ANYWHERE
from eb_tools.provision.security_groups import NO_EGRESS
from eb_tools.stage_file import Network

VPC_CIDR = "10.0.0.0/16"
ZONES = ("A", "B")
SUBNET_PREFIX = 20  # 4,096 addresses per subnet: room for EB's instances, load balancer nodes and RDS failovers


def build(template: Template, application: str, network: Network) -> None:
    """Add the network's resources and its outputs (VpcId, PublicSubnetIds, PrivateSubnetIds)."""
    name = f"{application}-{network.name}"
    vpc = template.add_resource(VPC("Vpc", CidrBlock=VPC_CIDR, EnableDnsSupport=True, EnableDnsHostnames=True,
                                    Tags=Tags(Name=name)))
    gateway = template.add_resource(InternetGateway("InternetGateway", Tags=Tags(Name=name)))
    attachment = template.add_resource(VPCGatewayAttachment(
        "InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(gateway)))
    public_routes = template.add_resource(RouteTable("PublicRouteTable", VpcId=Ref(vpc),
                                                     Tags=Tags(Name=f"{name}-public")))
    template.add_resource(Route("PublicDefaultRoute", RouteTableId=Ref(public_routes), DestinationCidrBlock=ANYWHERE,
                                GatewayId=Ref(gateway), DependsOn=attachment.title))
    # Public subnets first, then private ones, each a /20 of the VPC, written out so a reader sees the plan.
    blocks = [str(block) for block in ipaddress.ip_network(VPC_CIDR).subnets(new_prefix=SUBNET_PREFIX)]
    public, private, private_routes = [], [], []
    for index, zone in enumerate(ZONES):
        subnet = template.add_resource(Subnet(
            f"PublicSubnet{zone}", VpcId=Ref(vpc), CidrBlock=blocks[index],
            AvailabilityZone=Select(index, GetAZs("")), MapPublicIpOnLaunch=not network.nat,
            Tags=Tags(Name=f"{name}-public-{zone.lower()}")))
        public.append(subnet)
        template.add_resource(SubnetRouteTableAssociation(
            f"PublicSubnet{zone}Routes", SubnetId=Ref(subnet), RouteTableId=Ref(public_routes)))
        private_subnet = template.add_resource(Subnet(
            f"PrivateSubnet{zone}", VpcId=Ref(vpc), CidrBlock=blocks[len(ZONES) + index],
            AvailabilityZone=Select(index, GetAZs("")), MapPublicIpOnLaunch=False,
            Tags=Tags(Name=f"{name}-private-{zone.lower()}")))
        private.append(private_subnet)
        routes = template.add_resource(RouteTable(f"PrivateRouteTable{zone}", VpcId=Ref(vpc),
                                                  Tags=Tags(Name=f"{name}-private-{zone.lower()}")))
        private_routes.append(routes)
        template.add_resource(SubnetRouteTableAssociation(
            f"PrivateSubnet{zone}Routes", SubnetId=Ref(private_subnet), RouteTableId=Ref(routes)))
        if network.nat:
            # One NAT gateway per zone: losing a zone never cuts the other zone's instances off.
            address = template.add_resource(EIP(f"NatAddress{zone}", Domain="vpc", DependsOn=attachment.title))
            nat = template.add_resource(NatGateway(
                f"NatGateway{zone}", AllocationId=GetAtt(address, "AllocationId"), SubnetId=Ref(subnet),
                Tags=Tags(Name=f"{name}-{zone.lower()}")))
            template.add_resource(Route(f"PrivateDefaultRoute{zone}", RouteTableId=Ref(routes),
                                        DestinationCidrBlock=ANYWHERE, NatGatewayId=Ref(nat)))
    template.add_resource(VPCEndpoint(
        "S3Endpoint", VpcId=Ref(vpc), VpcEndpointType="Gateway", ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
        RouteTableIds=[Ref(table) for table in [public_routes, *private_routes]]))
    if network.secrets_endpoint:
        _secrets_manager_endpoint(template, vpc, private)
    template.add_output(Output("VpcId", Value=Ref(vpc)))
    template.add_output(Output("PublicSubnetIds", Value=Join(",", [Ref(subnet) for subnet in public])))
    template.add_output(Output("PrivateSubnetIds", Value=Join(",", [Ref(subnet) for subnet in private])))


def _secrets_manager_endpoint(template: Template, vpc: VPC, subnets: list[Subnet]) -> None:
    """Secrets Manager's API inside the VPC, one network interface per private subnet (billed per zone-hour)."""
    group = template.add_resource(SecurityGroup(
        "SecretsManagerEndpointSecurityGroup", VpcId=Ref(vpc),
        GroupDescription=Sub("${AWS::StackName} Secrets Manager endpoint: HTTPS from the VPC"),
        SecurityGroupIngress=[SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=VPC_CIDR,
            Description="HTTPS from the VPC (private DNS sends every caller here)")],
        SecurityGroupEgress=[NO_EGRESS]))
    template.add_resource(VPCEndpoint(
        "SecretsManagerEndpoint", VpcId=Ref(vpc), VpcEndpointType="Interface",
        ServiceName=Sub("com.amazonaws.${AWS::Region}.secretsmanager"), PrivateDnsEnabled=True,
        SubnetIds=[Ref(subnet) for subnet in subnets], SecurityGroupIds=[GetAtt(group, "GroupId")]))
