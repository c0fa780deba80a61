"""A stage's Elastic Beanstalk side: the application and its web and worker environments.

The application is one per repository, shared by its stages, so a version label
can move from one stage to the next. Each environment gets the settings of its
tier (web: load balancer, listeners, health check; worker: sqsd) and, from the
stage stack's outputs, its instance profile, security group, subnets and
environment properties: names and ARNs only, never a secret (the Flask key is
loaded by the platform from Secrets Manager through `environmentsecrets`).
Planning reads DescribeEnvironments and DescribeConfigurationSettings and
compares; executing creates or updates only what differs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eb_tools.errors import ProvisionError
from eb_tools.names import environment_names, web_environments
from eb_tools.stage import ebenv
from eb_tools.stage_file import Stage

Setting = tuple[str, str, str]  # namespace, option, value
PROPERTIES, SECRETS = ebenv.PROPERTIES, ebenv.SECRETS
TIERS = {"web": {"Name": "WebServer", "Type": "Standard"}, "worker": {"Name": "Worker", "Type": "SQS/HTTP"}}
ENVIRONMENT_TIMEOUT = 1800.0
# sqsd: EB's defaults, except InactivityTimeout (EB's is 299 s): the worker's gunicorn timeout (180 s), so sqsd gives
# up when gunicorn does, well inside the visibility timeout.
SQSD = {"HttpPath": "/", "MimeType": "application/json", "HttpConnections": "10", "InactivityTimeout": "180",
        "VisibilityTimeout": "300", "ErrorVisibilityTimeout": "60", "MaxRetries": "10"}


@dataclass
class EnvironmentPlan:
    tier: str
    name: str
    action: str  # create | update | none
    settings: list[Setting]  # the whole desired set
    changed: list[Setting] = field(default_factory=list)  # what differs from the live environment


@dataclass
class ApplicationPlan:
    name: str
    create: bool
    environments: list[EnvironmentPlan]
    version: str | None = None  # the label new environments start on; None: EB's sample application


def web_origins(stage: Stage) -> list[str]:
    """The origins browsers load the stage's pages from, the only ones its uploads bucket lets upload (CORS):
    the custom domain over HTTPS when the stage has one, and each web environment's EB CNAME (a blue/green
    stage's twin too: a swap exchanges the names), over HTTP, the load balancer's certificate being the
    domain's."""
    domain = [f"https://{stage.domain.name}"] if stage.domain else []
    return domain + [f"http://{name}.{stage.region}.elasticbeanstalk.com"
                     for name in web_environments(stage.application, stage.name, stage.web.blue_green)]


def desired_settings(stage: Stage, tier: str, outputs: dict[str, str]) -> list[Setting]:
    """Every option eb_tools owns for this tier, from the stage file and the stage stack's outputs."""
    spec = stage.web if tier == "web" else stage.worker
    subnets = outputs["PrivateSubnetIds"] if stage.nat else outputs["PublicSubnetIds"]
    settings: list[Setting] = [
        ("aws:autoscaling:asg", "MinSize", str(spec.min)),
        ("aws:autoscaling:asg", "MaxSize", str(spec.max)),
        ("aws:ec2:instances", "InstanceTypes", spec.instance_type),
        ("aws:autoscaling:launchconfiguration", "IamInstanceProfile",
         outputs["WebInstanceProfile" if tier == "web" else "WorkerInstanceProfile"]),
        ("aws:autoscaling:launchconfiguration", "SecurityGroups",
         outputs["WebSecurityGroup" if tier == "web" else "WorkerSecurityGroup"]),
        # Only those groups: by default EB adds a group of its own admitting HTTP (80) "from the internet or
        # load balancer" (EB guide, aws:autoscaling:launchconfiguration), which for a worker, with no load
        # balancer, is the internet. The worker's group admits nothing: sqsd calls the app on localhost.
        ("aws:autoscaling:launchconfiguration", "DisableDefaultEC2SecurityGroup", "true"),
        ("aws:ec2:vpc", "VPCId", outputs["VpcId"]),
        ("aws:ec2:vpc", "Subnets", subnets),
        # Without NAT, instances reach the platform's endpoints through the internet gateway.
        ("aws:ec2:vpc", "AssociatePublicIpAddress", "false" if stage.nat else "true"),
        ("aws:elasticbeanstalk:environment", "ServiceRole", outputs["ServiceRole"]),
        # How a new version reaches the tier's instances: the stage file's choice (applied to the environment,
        # it outranks any .ebextensions setting, so `eb deploy` follows it too).
        *(("aws:elasticbeanstalk:command", name, value) for name, value in spec.deployment.option_settings()),
        (SECRETS, "SECRET_KEY", outputs["SecretKeySecretArn"]),
        *([(SECRETS, "REDIS_AUTH_TOKEN", outputs["RedisAuthSecretArn"])] if "RedisAuthSecretArn" in outputs else []),
        *((PROPERTIES, name, value) for name, value in sorted(properties(stage, tier, outputs).items())),
    ]
    if tier == "web":
        settings += [
            ("aws:elasticbeanstalk:environment", "EnvironmentType", "LoadBalanced"),
            ("aws:elasticbeanstalk:environment", "LoadBalancerType", "application"),
            ("aws:ec2:vpc", "ELBSubnets", outputs["PublicSubnetIds"]),
            ("aws:ec2:vpc", "ELBScheme", "public"),
            ("aws:elbv2:loadbalancer", "SecurityGroups", outputs["LoadBalancerSecurityGroup"]),
            ("aws:elbv2:loadbalancer", "ManagedSecurityGroup", outputs["LoadBalancerSecurityGroup"]),
            ("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath", "/healthz"),
            ("aws:elasticbeanstalk:environment:process:default", "MatcherHTTPCode", "200"),
        ]
        if stage.domain:
            settings += [("aws:elbv2:listener:443", "Protocol", "HTTPS"),
                         ("aws:elbv2:listener:443", "SSLCertificateArns", stage.domain.certificate_arn),
                         ("aws:elbv2:listener:443", "SSLPolicy", "ELBSecurityPolicy-TLS13-1-2-2021-06")]
    else:
        settings += [("aws:elasticbeanstalk:sqsd", "WorkerQueueURL", outputs["WorkerQueueUrl"]),
                     *(("aws:elasticbeanstalk:sqsd", name, value) for name, value in SQSD.items())]
    return settings


def properties(stage: Stage, tier: str, outputs: dict[str, str]) -> dict[str, str]:
    """The environment properties the apps read (README, "Environment properties")."""
    found = {
        "APP_ROLE": tier,
        "STAGE": stage.name,
        "AWS_REGION": stage.region,
        "UPLOADS_BUCKET": outputs["UploadsBucket"],
        "BACKUP_BUCKET": outputs["BackupBucket"],
        "CDN_URL": f"https://{outputs['CdnDomain']}",
        "WORKER_QUEUE_URL": outputs["WorkerQueueUrl"],
    }
    if "DbHost" in outputs:
        found |= {"DB_HOST": outputs["DbHost"], "DB_READER_HOST": outputs.get("DbReaderHost", outputs["DbHost"]),
                  "DB_PORT": outputs["DbPort"], "DB_SECRET_ARN": outputs["DbSecretArn"]}
    if "RedisHost" in outputs:
        found["REDIS_URL"] = f"rediss://{outputs['RedisHost']}:{outputs['RedisPort']}/0"
    if tier == "web":
        # A browser sends a Secure cookie back only over HTTPS: Secure exactly when the load balancer serves the
        # stage's domain over HTTPS; a plain_http stage's session would otherwise never come back (no log-in).
        found["SESSION_COOKIE_SECURE"] = "true" if stage.domain else "false"
    else:  # the worker sends the mail; the web app only queues it
        found["MAIL_FROM"] = stage.mail.sender
    return found


def plan_application(eb: Any, stage: Stage, outputs: dict[str, str] | None,
                     version: str | None = None) -> ApplicationPlan:
    """Read-only: what creating or updating the application and both environments would do.
    `outputs` None means the stage stack does not exist yet: its environments will be created.
    `version`: a registered label new environments start on (as `eb create --version`)."""
    create = not eb.describe_applications(ApplicationNames=[stage.application])["Applications"]
    live = {} if create else {e["EnvironmentName"]: e for e in eb.describe_environments(
        ApplicationName=stage.application, IncludeDeleted=False)["Environments"]}
    plans = []
    names = [("web", name) for name in web_environments(stage.application, stage.name, stage.web.blue_green)]
    for tier, name in [*names, ("worker", environment_names(stage.application, stage.name)["worker"])]:
        desired = desired_settings(stage, tier, outputs) if outputs is not None else []
        if name not in live:
            plans.append(EnvironmentPlan(tier, name, "create", desired, desired))
            continue
        current = ebenv.settings(eb, stage.application, name)
        changed = [s for s in desired if current.get((s[0], s[1])) != s[2]]
        plans.append(EnvironmentPlan(tier, name, "update" if changed else "none", desired, changed))
    return ApplicationPlan(stage.application, create, plans, version)


def platform_arn(eb: Any, branch: str, source: str = "eb_tools.yaml") -> str:
    """The newest platform version of the stage file's platform branch (`source` names the file)."""
    versions = eb.list_platform_versions(Filters=[
        {"Type": "PlatformBranchName", "Operator": "=", "Values": [branch]}])["PlatformSummaryList"]
    if not versions:
        raise ProvisionError(f"{source}: platform: {branch!r} is not a platform branch Elastic Beanstalk "
                             "offers in this region; see `aws elasticbeanstalk list-platform-branches`")
    return str(max(versions, key=lambda v: [int(p) for p in v["PlatformVersion"].split(".")])["PlatformArn"])


def execute(eb: Any, stage: Stage, plan: ApplicationPlan, echo: Callable[[str], None],
            interval: float = 2.0) -> None:
    """Create the application if needed, create or update the environments in parallel, wait for both."""
    if plan.create:
        eb.create_application(ApplicationName=plan.name, Description=ebenv.APPLICATION_DESCRIPTION)
        echo(f"created application {plan.name}")
    requests: dict[str, str] = {}
    started = datetime.now(UTC)
    arn = platform_arn(eb, stage.platform, stage.source) if any(e.action == "create" for e in plan.environments) else ""
    for env in plan.environments:
        options = [{"Namespace": n, "OptionName": o, "Value": v} for n, o, v in env.changed]
        if env.action == "create":
            answer = eb.create_environment(ApplicationName=plan.name, EnvironmentName=env.name, Tier=TIERS[env.tier],
                                           PlatformArn=arn, OptionSettings=options,
                                           **({"VersionLabel": plan.version} if plan.version else {}),
                                           **({"CNAMEPrefix": env.name} if env.tier == "web" else {}))
        elif env.action == "update":
            answer = eb.update_environment(ApplicationName=plan.name, EnvironmentName=env.name,
                                           OptionSettings=options)
        else:
            continue
        requests[env.name] = answer["ResponseMetadata"]["RequestId"]
    if not requests:
        return
    try:
        ebenv.watch(eb, plan.name, requests, started, echo, ENVIRONMENT_TIMEOUT, interval)
    except ebenv.WaitTimeout as error:
        raise ProvisionError(f"{error}; the update goes on: watch it with eb events") from None
    except ebenv.OperationFailed as error:
        raise ProvisionError(f"environment {error}; see eb events") from None
