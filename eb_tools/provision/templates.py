"""CloudFormation templates of a stage file: one network stack per isolation group, one stack per stage.

The stage stack's parameters: the network stack's outputs (VpcId, PublicSubnetIds,
PrivateSubnetIds) passed through unchanged; WebOrigins, the origins the uploads
bucket's CORS allows (defaults to the stage's own: its domain and its web
environments' CNAMEs, environments.web_origins); LoadBalancerFullName,
empty until the web environment's ALB exists (see alarms.py). The stage stack's
outputs are what the two Elastic Beanstalk environments are configured from,
network ids included. Templates are built with troposphere, which refuses unknown
properties and wrong value types while the template is built, and are returned
as plain JSON-able dicts.
"""
from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Join, Output, Parameter, Ref, Template

from eb_tools.names import environment_names, web_environments
from eb_tools.provision import (
    alarms,
    data_stores,
    environments,
    mail,
    network,
    queues,
    roles,
    rotation,
    secrets,
    security_groups,
    storage,
)
from eb_tools.stage_file import Stage, StageFile

WEB_ORIGINS = "WebOrigins"
LOAD_BALANCER = "LoadBalancerFullName"


def network_template(file: StageFile, group: str) -> dict[str, Any]:
    """The network of isolation group `group`, shared by the stages that name it."""
    net = file.network(group)
    template = Template(Description=f"{file.application} network '{group}' (stages: {', '.join(net.stages)}): "
                                    f"VPC over two availability zones{', NAT' if net.nat else ''}")
    network.build(template, file.application, net)
    return template.to_dict()


def stage_template(file: StageFile, stage_name: str) -> dict[str, Any]:
    """Everything of one stage except its network and its EB environments."""
    stage = file.stage(stage_name)
    template = Template(Description=f"{stage.application} stage '{stage.name}': security groups, data stores, "
                                    "buckets, CDN, queues, roles and alarms of its web and worker environments")
    params = _parameters(template, stage)
    groups = security_groups.build(template, params["VpcId"], stage.database is not None, stage.redis is not None)
    database = redis = None
    if stage.database and groups.database:
        database = data_stores.build_database(template, stage.database, GetAtt(groups.database, "GroupId"),
                                              params["PrivateSubnetIds"])
        rotation.build(template, stage, database, groups.database, params["VpcId"], params["PrivateSubnetIds"])
    if stage.redis and groups.redis:
        redis = data_stores.build_redis(template, stage.redis, GetAtt(groups.redis, "GroupId"),
                                        params["PrivateSubnetIds"])
    buckets = storage.build(template, params[WEB_ORIGINS])
    work = queues.build(template)
    secret_key = secrets.build_secret_key(template)
    readable = [Ref(secret_key)]
    if database:
        readable.append(Ref(database.credentials))
    if redis:
        readable.append(Ref(redis.auth_secret))
    names = environment_names(stage.application, stage.name)
    dkim_records = mail.build(template, stage.mail)
    profiles = roles.build(template, stage.application, web_environments(stage.application, stage.name,
                                                                         stage.web.blue_green), names["worker"],
                           roles.Access(uploads=GetAtt(buckets.uploads, "Arn"), backup=GetAtt(buckets.backup, "Arn"),
                                        queue=GetAtt(work.work, "Arn"), secrets=readable,
                                        mail_identity=mail.identity_arn(stage.mail)))
    topic = alarms.build(template, stage, params[LOAD_BALANCER], work, database, redis)
    outputs: dict[str, Any] = {
        "VpcId": params["VpcId"],
        "PublicSubnetIds": Join(",", params["PublicSubnetIds"]),
        "PrivateSubnetIds": Join(",", params["PrivateSubnetIds"]),
        "LoadBalancerSecurityGroup": GetAtt(groups.load_balancer, "GroupId"),
        "WebSecurityGroup": GetAtt(groups.web, "GroupId"),
        "WorkerSecurityGroup": GetAtt(groups.worker, "GroupId"),
        "WebInstanceProfile": Ref(profiles.web),
        "WorkerInstanceProfile": Ref(profiles.worker),
        "ServiceRole": Ref(profiles.service_role),
        "UploadsBucket": Ref(buckets.uploads),
        "BackupBucket": Ref(buckets.backup),
        "StaticBucket": Ref(buckets.static),
        "LogsBucket": Ref(buckets.logs),
        "CdnDomain": GetAtt(buckets.distribution, "DomainName"),
        "WorkerQueueUrl": Ref(work.work),
        "WorkerQueueArn": GetAtt(work.work, "Arn"),
        "WorkerDeadLetterQueueUrl": Ref(work.dead_letters),
        "SecretKeySecretArn": Ref(secret_key),
        "AlarmTopicArn": Ref(topic),
    }
    outputs |= _data_store_outputs(database, redis) | dkim_records
    for name, value in outputs.items():
        template.add_output(Output(name, Value=value))
    return template.to_dict()


def _data_store_outputs(database: data_stores.DatabaseParts | None,
                        redis: data_stores.RedisParts | None) -> dict[str, Any]:
    """Where the apps find the database (writer and reader) and Redis, and the secrets that open them."""
    outputs: dict[str, Any] = {}
    if database:
        reader = database.replicas[0] if database.replicas else database.writer
        outputs |= {
            "DbHost": GetAtt(database.writer, "Endpoint.Address"),
            "DbReaderHost": GetAtt(reader, "Endpoint.Address"),
            "DbPort": GetAtt(database.writer, "Endpoint.Port"),
            "DbSecretArn": Ref(database.credentials),
        }
    if redis:
        outputs |= {
            "RedisHost": GetAtt(redis.group, "PrimaryEndPoint.Address"),
            "RedisPort": GetAtt(redis.group, "PrimaryEndPoint.Port"),
            "RedisAuthSecretArn": Ref(redis.auth_secret),
        }
    return outputs


def _parameters(template: Template, stage: Stage) -> dict[str, Ref]:
    """The network's outputs, the web origins CORS allows, and the load balancer the ALB alarms watch."""
    # A CommaDelimitedList's AllowedPattern applies to each value (CloudFormation User Guide, "Parameters").
    web_origins = Parameter(WEB_ORIGINS, Type="CommaDelimitedList", AllowedPattern=r"^https?://[a-z0-9.-]+(:[0-9]+)?$",
                            Default=",".join(environments.web_origins(stage)),
                            Description="The origins browsers upload from (CORS of the uploads bucket): the custom "
                                        "domain and the web environments' CNAMEs")
    declared = [
        Parameter("VpcId", Type="AWS::EC2::VPC::Id", Description="VpcId output of the network stack"),
        Parameter("PublicSubnetIds", Type="CommaDelimitedList", Description="PublicSubnetIds of the network stack"),
        Parameter("PrivateSubnetIds", Type="CommaDelimitedList", Description="PrivateSubnetIds of the network stack"),
        web_origins,
        Parameter(LOAD_BALANCER, Type="String", Default="", AllowedPattern=r"^(app/[A-Za-z0-9-]+/[0-9a-f]+)?$",
                  Description="LoadBalancer dimension of the web environment's ALB (app/NAME/ID); empty until "
                              "the environment exists, which leaves the load balancer alarms out"),
    ]
    return {param.title: Ref(template.add_parameter(param)) for param in declared}
