"""The emulated EB's records, each describing itself in the EB API's shapes."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from eb_tools.cloud.elasticbeanstalk import arns, platforms
from eb_tools.cloud.elasticbeanstalk import health as enhanced
from eb_tools.cloud.elasticbeanstalk.request_context import current_request_id
from eb_tools.formats.option_schema import split_resource

TIERS = {"WebServer": {"Name": "WebServer", "Type": "Standard", "Version": "1.0"},
         "Worker": {"Name": "Worker", "Type": "SQS/HTTP", "Version": "1.0"}}


@dataclass(kw_only=True)
class Version:
    application: str
    label: str
    description: str
    bucket: str
    key: str
    arn: str
    created: datetime
    status: str  # UNPROCESSED, or PROCESSED when created with Process=true

    def describe(self) -> dict[str, object]:
        return {"ApplicationVersionArn": self.arn, "ApplicationName": self.application, "Description": self.description,
                "VersionLabel": self.label, "SourceBundle": {"S3Bucket": self.bucket, "S3Key": self.key},
                "DateCreated": self.created, "DateUpdated": self.created, "Status": self.status}


@dataclass(kw_only=True)
class Application:
    name: str
    description: str
    arn: str
    created: datetime
    versions: dict[str, Version] = field(default_factory=dict)
    templates: dict[str, SavedConfiguration] = field(default_factory=dict)

    def newest_first(self) -> list[Version]:
        return sorted(self.versions.values(), key=lambda v: v.created, reverse=True)

    def describe(self) -> dict[str, object]:
        return {"ApplicationName": self.name, "Description": self.description, "DateCreated": self.created,
                "DateUpdated": self.created, "Versions": [v.label for v in self.newest_first()],
                "ConfigurationTemplates": sorted(self.templates), "ApplicationArn": self.arn}


@dataclass(kw_only=True)
class Instance:
    """An EC2 instance of an environment: the version its last deployment put on it, and its health."""
    id: str
    zone: str
    launched: datetime
    version: str = ""  # the label it runs; "" for none (EB's sample application)
    deployment: int | None = None  # the deployment that put `version` on it
    deployed: datetime | None = None
    deployment_status: str = "Deployed"  # DescribeInstancesHealth's words: Deployed or Failed
    health: str = "Pending"  # Pending while it boots, Info while a batch deploys to it, Ok, or Severe
    causes: list[str] = field(default_factory=list)  # those of Pending, Info and Severe

    def take(self, label: str, deployment: int | None, when: datetime, passed: bool) -> None:
        """The end of a deployment to this instance: it runs `label`, healthy or failing its checks."""
        self.version, self.deployment, self.deployed = label, deployment, when
        self.deployment_status, self.health = ("Deployed", "Ok") if passed else ("Failed", "Severe")
        self.causes = [] if passed else [enhanced.FAILED_CHECKS]


@dataclass(kw_only=True)
class Operation:
    """An update of an environment in progress: what it deploys, and what an abort undoes or keeps."""
    kind: str  # "launch", "deploy" or "configure"
    request_id: str  # the request that started it: its events carry this id
    started: datetime
    label: str | None = None  # the version it deploys
    deployment: int | None = None  # that deployment's number
    settings: list[tuple[str, str, object]] = field(default_factory=list)  # applied when it succeeds
    remove: list[tuple[str, str]] = field(default_factory=list)
    description: str | None = None
    immutable: bool = False  # it deploys to new instances (Immutable, TrafficSplitting)
    abortable: bool = True
    deploying: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # the batch in progress: health before
    launched: list[str] = field(default_factory=list)  # instances it launched that an abort terminates

    @property
    def activity(self) -> str:
        return {"deploy": "Application update", "configure": "Configuration update"}.get(self.kind, "Launch")


@dataclass(kw_only=True)
class Capacity:
    """The Auto Scaling group's sizes as the last scheduled action left them (EB's options no longer rule)."""
    min: int
    max: int
    desired: int


@dataclass(kw_only=True)
class Environment:
    id: str
    name: str
    application: str
    tier: str  # a key of TIERS
    platform: platforms.Platform
    region: str
    account: str
    cname: str  # "" for a worker
    version: str | None  # EB's expected version: the label of the last deployment that succeeded
    description: str
    settings: dict[tuple[str, str], object]
    created: datetime
    updated: datetime
    status: str = "Launching"
    queue_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    terminated_at: datetime | None = None
    instances: list[Instance] = field(default_factory=list)
    deployments: int = 0  # version deployments started, which number them
    deployment: int | None = None  # the deployment that put `version` on the environment
    operation: Operation | None = None
    reported_health: str = "Pending"  # the status the last health transition event announced
    info: dict[str, list[dict[str, object]]] = field(default_factory=dict)  # RequestEnvironmentInfo's, by type
    capacity: Capacity | None = None  # set by scheduled actions (scheduled_scaling.py); None: the options rule
    schedule_checked: datetime | None = None  # scheduled actions are applied up to this time (the schedule's clock)

    @property
    def arn(self) -> str:
        return arns.arn(self.region, self.account, "environment", self.application, self.name)

    @property
    def endpoint(self) -> str:
        """The load balancer's name, which a worker has none of."""
        if self.tier != "WebServer":
            return ""
        return f"awseb-{self.id}-{self.id[2:8]}.{self.region}.elb.amazonaws.com"

    def listed(self, include_deleted: bool, back_to: datetime | None) -> bool:
        """Whether DescribeEnvironments lists it: a terminated one only when asked, and not before `back_to`."""
        if self.status != "Terminated":
            return True
        return include_deleted and not (back_to and self.terminated_at and self.terminated_at < back_to)

    def instance_health(self, instance: Instance) -> enhanced.Health:
        return enhanced.instance(instance.health, instance.causes, instance.version, instance.deployment,
                               self.version, self.deployment, settled=self.operation is None)

    def assess(self, now: datetime | None = None) -> enhanced.Health:
        """The environment's health status and causes, derived from its instances as of `now`."""
        activity = None
        if self.status == "Terminating":
            activity = "Terminate"
        elif self.operation and self.status == "Updating":
            activity = self.operation.activity
        started = self.operation.started if self.operation else self.updated
        running_for = int(((now or started) - started).total_seconds())
        # an instance still booting (a scheduled scale-out's) has no version yet: it is not on a wrong one
        wrong = sum(1 for i in self.instances if i.deployment != self.deployment and i.health != "Pending")
        instances = [self.instance_health(i) for i in self.instances]
        return enhanced.environment(self.status, activity, running_for, instances, wrong, self.version, self.deployment,
                                    self.capacity.desired if self.capacity else None)

    @property
    def health_status(self) -> str:
        return self.assess()[0]

    @property
    def health(self) -> str:
        """The color of the health status."""
        return enhanced.COLORS[self.health_status]

    def describe(self) -> dict[str, object]:
        abortable = self.status == "Updating" and self.operation is not None and self.operation.abortable
        result: dict[str, object] = {
            "EnvironmentName": self.name, "EnvironmentId": self.id, "ApplicationName": self.application,
            "SolutionStackName": self.platform.solution_stack, "PlatformArn": self.platform.arn_in(self.region),
            "Description": self.description, "DateCreated": self.created, "DateUpdated": self.updated,
            "Status": self.status, "AbortableOperationInProgress": abortable,
            "Health": self.health, "HealthStatus": self.health_status, "Tier": TIERS[self.tier],
            "EnvironmentLinks": [], "EnvironmentArn": self.arn, "EndpointURL": self.endpoint,
        }
        if self.version:
            result["VersionLabel"] = self.version
        if self.tier == "WebServer":
            result["CNAME"] = self.cname
        return result

    def health_report(self, refreshed_at: datetime) -> dict[str, object]:
        """DescribeEnvironmentHealth, every attribute: the instances counted by their health."""
        status, causes = self.assess(refreshed_at)
        counts = dict.fromkeys(enhanced.STATUSES, 0)
        for instance in self.instances:
            counts[self.instance_health(instance)[0]] += 1
        return {"EnvironmentName": self.name, "HealthStatus": status, "Status": self.status,
                "Color": enhanced.COLORS[status], "Causes": causes, "InstancesHealth": counts,
                "RefreshedAt": refreshed_at}

    def instances_health(self) -> list[dict[str, object]]:
        """DescribeInstancesHealth's list, every attribute: what each instance runs, and its health."""
        listed = []
        for instance in self.instances:
            status, causes = self.instance_health(instance)
            entry: dict[str, object] = {
                "InstanceId": instance.id, "HealthStatus": status, "Color": enhanced.COLORS[status], "Causes": causes,
                "LaunchedAt": instance.launched, "AvailabilityZone": instance.zone, "InstanceType": "t3.small"}
            if instance.deployment is not None:
                entry["Deployment"] = {"VersionLabel": instance.version, "DeploymentId": instance.deployment,
                                       "Status": instance.deployment_status, "DeploymentTime": instance.deployed}
            listed.append(entry)
        return listed

    def load_balancer(self, kind: str) -> str:
        """DescribeEnvironmentResources' name of the load balancer: a classic one's name, an application or
        network load balancer's ARN, as EB answers (the eb CLI tells them apart by the ARN: ebcli/lib/elb.py
        is_classic_load_balancer; CloudWatch's LoadBalancer dimension is the ARN's end, app/<name>/<id>)."""
        if kind not in ("application", "network"):
            return f"awseb-{self.id}-AWSEBLoa-{self.id[2:12].upper()}"
        short = "app" if kind == "application" else "net"
        return (f"arn:aws:elasticloadbalancing:{self.region}:{self.account}:loadbalancer/{short}/"
                f"awseb-AWSEB-{self.id[2:12].upper()}/{self.id.encode().hex()[:16]}")

    def resources(self, load_balancer_type: str) -> dict[str, object]:
        return {
            "EnvironmentName": self.name,
            "AutoScalingGroups": [{"Name": f"awseb-{self.id}-stack-AWSEBAutoScalingGroup"}],
            "Instances": [{"Id": instance.id} for instance in self.instances],
            "LaunchConfigurations": [], "LaunchTemplates": [{"Id": f"lt-{self.id[2:]}"}], "Triggers": [],
            "LoadBalancers": [{"Name": self.load_balancer(load_balancer_type)}] if self.tier == "WebServer" else [],
            "Queues": [{"Name": "WorkerQueue", "URL": self.queue_url}] if self.queue_url else [],
        }

    def configuration(self, options: Mapping[tuple[str, str], str | None]) -> dict[str, object]:
        """DescribeConfigurationSettings' entry: every option (`options`, merged), the worker's queue among them."""
        if self.queue_url:
            options = {**options, ("aws:elasticbeanstalk:sqsd", "WorkerQueueURL"): self.queue_url}
        return {"SolutionStackName": self.platform.solution_stack, "PlatformArn": self.platform.arn_in(self.region),
                "ApplicationName": self.application, "EnvironmentName": self.name, "Description": self.description,
                "DeploymentStatus": "deployed", "Tier": TIERS[self.tier], "DateCreated": self.created,
                "DateUpdated": self.updated, "OptionSettings": option_settings(options)}


def option_settings(options: Mapping[tuple[str, str], object]) -> list[dict[str, object]]:
    """OptionSettings as EB lists them: by namespace, then option name; no Value for an option without one; a
    resource's (a scheduled action's, keyed `RESOURCE.namespace`) with its ResourceName."""
    listed: list[dict[str, object]] = []
    for (key, option), value in sorted(options.items()):
        namespace, resource = split_resource(key)
        entry: dict[str, object] = {**({"ResourceName": resource} if resource else {}), "Namespace": namespace,
                                    "OptionName": option}
        if value is not None:
            entry["Value"] = str(value)
        listed.append(entry)
    return listed


@dataclass(kw_only=True)
class SavedConfiguration:
    """A saved configuration: a platform, a tier and the settings applied, by application and name."""
    application: str
    name: str
    description: str
    platform: platforms.Platform
    tier: str  # a key of TIERS
    settings: dict[tuple[str, str], object]
    created: datetime
    updated: datetime

    def configuration(self, region: str) -> dict[str, object]:
        """DescribeConfigurationSettings' entry for the template: the settings it saved."""
        return {"SolutionStackName": self.platform.solution_stack, "PlatformArn": self.platform.arn_in(region),
                "ApplicationName": self.application, "TemplateName": self.name, "Description": self.description,
                "Tier": TIERS[self.tier], "DateCreated": self.created, "DateUpdated": self.updated,
                "OptionSettings": option_settings(self.settings)}


@dataclass
class Event:
    date: datetime
    message: str
    severity: str
    application: str | None = None
    environment: str | None = None
    version: str | None = None
    request_id: str = field(default_factory=current_request_id)

    def describe(self) -> dict[str, object]:
        result: dict[str, object] = {"EventDate": self.date, "Message": self.message, "Severity": self.severity,
                                     "RequestId": self.request_id}
        if self.application:
            result["ApplicationName"] = self.application
        if self.environment:
            result["EnvironmentName"] = self.environment
        if self.version:
            result["VersionLabel"] = self.version
        return result
