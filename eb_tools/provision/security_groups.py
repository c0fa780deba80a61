"""Security groups that chain load balancer -> web instances -> database/Redis, and nothing else.

The internet reaches only the load balancer (80, 443); the load balancer reaches
only the web instances' nginx; web and worker instances reach the database and
Redis, and HTTPS anywhere (AWS APIs, package installs while EB deploys). Worker
instances accept nothing: sqsd pulls from SQS and calls the app on localhost.
The database and Redis groups send nothing. A stage whose database secret
rotates adds the rotation function's group: it reaches the database and HTTPS
(Secrets Manager's API), and the database lets it in. Rules between two groups
are separate resources, so no two groups depend on each other.
"""
from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.ec2 import SecurityGroup, SecurityGroupEgress, SecurityGroupIngress, SecurityGroupRule

from eb_tools.provision.common import ANYWHERE, APP_PORT, MYSQL_PORT, REDIS_PORT, skip_checkov

# An egress rule that matches nothing: a group with one inline rule loses EC2's default allow-all egress.
NO_EGRESS = SecurityGroupRule(IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
                              Description="no outbound traffic (replaces the default allow-all rule)")


@dataclass(frozen=True)
class Groups:
    load_balancer: SecurityGroup
    web: SecurityGroup
    worker: SecurityGroup
    database: SecurityGroup | None
    redis: SecurityGroup | None


def _tcp(port: int, description: str, **source: object) -> SecurityGroupRule:
    return SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, Description=description, **source)


def build(template: Template, vpc: Ref, with_database: bool, with_redis: bool) -> Groups:
    web = template.add_resource(_group(
        "WebSecurityGroup", vpc, "web instances: HTTP from the load balancer only",
        egress=[_tcp(443, "HTTPS to AWS APIs and package mirrors", CidrIp=ANYWHERE)]))
    worker = template.add_resource(_group(
        "WorkerSecurityGroup", vpc, "worker instances: no inbound traffic (sqsd calls the app on localhost)",
        egress=[_tcp(443, "HTTPS to AWS APIs and package mirrors", CidrIp=ANYWHERE)]))
    load_balancer = template.add_resource(skip_checkov(
        _group("LoadBalancerSecurityGroup", vpc, "load balancer: HTTP and HTTPS from anywhere",
               ingress=[_tcp(80, "HTTP from anywhere (redirected to HTTPS when the stage has a domain)",
                             CidrIp=ANYWHERE),
                        _tcp(443, "HTTPS from anywhere", CidrIp=ANYWHERE)],
               egress=[_tcp(APP_PORT, "to the web instances (nginx)",
                            DestinationSecurityGroupId=GetAtt(web, "GroupId"))]),
        # The public entry point of the site: port 80 must answer browsers, if only to redirect them.
        # (Rule and group descriptions allow letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* only.)
        CKV_AWS_260="the load balancer is the site's public entry point: port 80 serves the EB CNAME, or "
                    "redirects to HTTPS when the stage has a domain",
    ))
    template.add_resource(SecurityGroupIngress(
        "WebFromLoadBalancer", GroupId=GetAtt(web, "GroupId"), IpProtocol="tcp", FromPort=APP_PORT, ToPort=APP_PORT,
        SourceSecurityGroupId=GetAtt(load_balancer, "GroupId"), Description="HTTP from the load balancer"))
    database = _backend(template, "Database", vpc, MYSQL_PORT, web, worker) if with_database else None
    redis = _backend(template, "Redis", vpc, REDIS_PORT, web, worker) if with_redis else None
    return Groups(load_balancer, web, worker, database, redis)


def _group(title: str, vpc: Ref, description: str, *, ingress: list[SecurityGroupRule] | None = None,
           egress: list[SecurityGroupRule]) -> SecurityGroup:
    group = SecurityGroup(title, VpcId=vpc, GroupDescription=Sub(f"${{AWS::StackName}} {description}"),
                          SecurityGroupEgress=egress)
    if ingress:
        group.SecurityGroupIngress = ingress
    return group


def _backend(template: Template, name: str, vpc: Ref, port: int, *clients: SecurityGroup) -> SecurityGroup:
    """A data store's group: its port from the web and worker instances, nothing outbound."""
    group = template.add_resource(_group(
        f"{name}SecurityGroup", vpc, f"{name.lower()}: port {port} from web and worker instances only",
        ingress=[_tcp(port, f"from the {client.title.removesuffix('SecurityGroup').lower()} instances",
                      SourceSecurityGroupId=GetAtt(client, "GroupId")) for client in clients],
        egress=[NO_EGRESS]))
    for client in clients:
        tier = client.title.removesuffix("SecurityGroup")
        template.add_resource(SecurityGroupEgress(
            f"{tier}To{name}", GroupId=GetAtt(client, "GroupId"), IpProtocol="tcp", FromPort=port, ToPort=port,
            DestinationSecurityGroupId=GetAtt(group, "GroupId"), Description=f"to {name.lower()} on {port}"))
    return group


def rotation_function(template: Template, vpc: Ref, database: SecurityGroup) -> SecurityGroup:
    """The database secret's rotation function (a Lambda function in the private subnets): to the database on
    its port, and HTTPS to Secrets Manager's API (through NAT or the network's interface endpoint); nothing in."""
    group = template.add_resource(_group(
        "DatabaseRotationSecurityGroup", vpc, "database secret rotation function: to the database and HTTPS only",
        egress=[_tcp(443, "HTTPS to the Secrets Manager API", CidrIp=ANYWHERE)]))
    template.add_resource(SecurityGroupIngress(
        "DatabaseFromRotation", GroupId=GetAtt(database, "GroupId"), IpProtocol="tcp", FromPort=MYSQL_PORT,
        ToPort=MYSQL_PORT, SourceSecurityGroupId=GetAtt(group, "GroupId"),
        Description="from the secret rotation function"))
    template.add_resource(SecurityGroupEgress(
        "DatabaseRotationToDatabase", GroupId=GetAtt(group, "GroupId"), IpProtocol="tcp", FromPort=MYSQL_PORT,
        ToPort=MYSQL_PORT, DestinationSecurityGroupId=GetAtt(database, "GroupId"),
        Description=f"to database on {MYSQL_PORT}"))
    return group
