"""The emulated EB's records, each describing itself in the EB API's shapes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from eb_tools.local.elasticbeanstalk import arns, platforms
from eb_tools.local.elasticbeanstalk.request_context import current_request_id

INSTANCES = 2  # every environment runs this many emulated instances
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

    def newest_first(self) -> list[Version]:
        return sorted(self.versions.values(), key=lambda v: v.created, reverse=True)

    def describe(self) -> dict[str, object]:
        return {"ApplicationName": self.name, "Description": self.description, "DateCreated": self.created,
                "DateUpdated": self.created, "Versions": [v.label for v in self.newest_first()],
                "ConfigurationTemplates": [], "ApplicationArn": self.arn}


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
    version: str | None
    description: str
    settings: dict[tuple[str, str], object]
    created: datetime
    updated: datetime
    status: str = "Launching"
    health: str = "Grey"  # the color; health_status is the enhanced-health word for it
    health_status: str = "Pending"
    queue_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    terminated_at: datetime | None = None

    @property
    def arn(self) -> str:
        return arns.arn(self.region, self.account, "environment", self.application, self.name)

    @property
    def endpoint(self) -> str:
        """The load balancer's name, which a worker has none of."""
        if self.tier != "WebServer":
            return ""
        return f"awseb-{self.id}-{self.id[2:8]}.{self.region}.elb.amazonaws.com"

    @property
    def instance_ids(self) -> list[str]:
        return [f"i-{self.id[2:]}{n}" for n in range(INSTANCES)]

    def listed(self, include_deleted: bool, back_to: datetime | None) -> bool:
        """Whether DescribeEnvironments lists it: a terminated one only when asked, and not before `back_to`."""
        if self.status != "Terminated":
            return True
        return include_deleted and not (back_to and self.terminated_at and self.terminated_at < back_to)

    def describe(self) -> dict[str, object]:
        result: dict[str, object] = {
            "EnvironmentName": self.name, "EnvironmentId": self.id, "ApplicationName": self.application,
            "SolutionStackName": self.platform.solution_stack, "PlatformArn": self.platform.arn_in(self.region),
            "Description": self.description, "DateCreated": self.created, "DateUpdated": self.updated,
            "Status": self.status, "AbortableOperationInProgress": self.status == "Updating",
            "Health": self.health, "HealthStatus": self.health_status, "Tier": TIERS[self.tier],
            "EnvironmentLinks": [], "EnvironmentArn": self.arn, "EndpointURL": self.endpoint,
        }
        if self.version:
            result["VersionLabel"] = self.version
        if self.tier == "WebServer":
            result["CNAME"] = self.cname
        return result

    def health_report(self, refreshed_at: datetime) -> dict[str, object]:
        """DescribeEnvironmentHealth: every instance shares the environment's health."""
        red = self.health == "Red"
        counts = {"NoData": 0, "Unknown": 0, "Pending": 0 if self.status == "Ready" else INSTANCES,
                  "Ok": INSTANCES if self.health == "Green" else 0, "Info": 0, "Warning": 0, "Degraded": 0,
                  "Severe": INSTANCES if red else 0}
        return {"EnvironmentName": self.name, "HealthStatus": self.health_status, "Status": self.status,
                "Color": self.health, "Causes": ["Application update failed on all instances."] if red else [],
                "InstancesHealth": counts, "RefreshedAt": refreshed_at}

    def instances_health(self) -> list[dict[str, object]]:
        """DescribeInstancesHealth's list: each instance runs the environment's version, with its health."""
        return [{"InstanceId": instance, "HealthStatus": self.health_status, "Color": self.health, "Causes": [],
                 "LaunchedAt": self.created, "AvailabilityZone": f"{self.region}{chr(ord('a') + n)}",
                 "InstanceType": "t3.small", "Deployment": {"VersionLabel": self.version or "", "Status": "Deployed"}}
                for n, instance in enumerate(self.instance_ids)]

    def resources(self) -> dict[str, object]:
        return {
            "EnvironmentName": self.name,
            "AutoScalingGroups": [{"Name": f"awseb-{self.id}-stack-AWSEBAutoScalingGroup"}],
            "Instances": [{"Id": instance} for instance in self.instance_ids],
            "LaunchConfigurations": [], "LaunchTemplates": [{"Id": f"lt-{self.id[2:]}"}], "Triggers": [],
            "LoadBalancers": [{"Name": self.endpoint}] if self.tier == "WebServer" else [],
            "Queues": [{"Name": "WorkerQueue", "URL": self.queue_url}] if self.queue_url else [],
        }

    def configuration(self) -> dict[str, object]:
        """DescribeConfigurationSettings' entry: the settings applied, the worker's queue among them."""
        settings = [{"Namespace": n, "OptionName": o, "Value": str(v)} for (n, o), v in sorted(self.settings.items())]
        if self.queue_url:
            settings.append({"Namespace": "aws:elasticbeanstalk:sqsd", "OptionName": "WorkerQueueURL",
                             "Value": self.queue_url})
        return {"SolutionStackName": self.platform.solution_stack, "PlatformArn": self.platform.arn_in(self.region),
                "ApplicationName": self.application, "EnvironmentName": self.name, "DeploymentStatus": "deployed",
                "DateCreated": self.created, "DateUpdated": self.updated, "OptionSettings": settings}


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
