"""Wire format of the emulated Elastic Beanstalk (moto's responses.py split).

Each method is named after an EB operation in snake_case and returns moto's
ActionResult with the output shape's fields, which moto serializes from
botocore's model; errors are ServiceExceptions with EB's codes and messages.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult, EmptyResult

from eb_tools.local.elasticbeanstalk import options, platforms
from eb_tools.local.elasticbeanstalk.models import (
    Environment,
    InvalidParameterValue,
    InvalidRequest,
    LocalEBBackend,
    eb_local_backends,
)


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value)
    if text.replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _filters_match(summary: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    """ListPlatformVersions/ListPlatformBranches filters: Type, Operator (=, !=, begins_with...), Values."""
    names = {"PlatformName": "PlatformName", "PlatformBranchName": "PlatformBranchName",
             "BranchName": "BranchName", "LifecycleState": "LifecycleState", "TierType": "SupportedTierList",
             "PlatformOwner": "PlatformOwner", "PlatformStatus": "PlatformStatus",
             "PlatformLifecycleState": "PlatformLifecycleState", "PlatformVersion": "PlatformVersion",
             "SupportedTier": "SupportedTierList", "OperatingSystemName": "OperatingSystemName"}
    for item in filters:
        field, operator = names.get(item.get("Type") or item.get("Attribute", ""), ""), item.get("Operator", "=")
        values = [str(v) for v in item.get("Values", [])]
        actual = summary.get(field)
        actual_list = [str(a) for a in actual] if isinstance(actual, list) else [str(actual)]
        if not field:
            continue
        if operator in ("=", "in") and not set(actual_list) & set(values):
            return False
        if operator in ("!=", "not_in") and set(actual_list) & set(values):
            return False
        if operator == "begins_with" and not any(a.startswith(v) for a in actual_list for v in values):
            return False
        if operator == "contains" and not any(v in a for a in actual_list for v in values):
            return False
    return True


class ElasticBeanstalkOperations:
    """Mixed into moto's EBResponse by register(): self is an EBResponse."""

    @property
    def local_eb(self) -> LocalEBBackend:
        backend = eb_local_backends[self.current_account][self.region]  # type: ignore[attr-defined]
        backend.advance()
        return backend

    def _env(self) -> Environment:
        return self.local_eb.environment(self._get_param("EnvironmentId"), self._get_param("EnvironmentName"))

    # -- platforms ---------------------------------------------------------------------------------
    def list_platform_branches(self) -> ActionResult:
        filters = self._get_param("Filters", [])
        branches = [p.branch_summary() for p in platforms.PLATFORMS]
        return ActionResult({"PlatformBranchSummaryList": [b for b in branches if _filters_match(b, filters)]})

    def list_platform_versions(self) -> ActionResult:
        filters = self._get_param("Filters", [])
        versions = [p.summary(self.region) for p in platforms.PLATFORMS]
        return ActionResult({"PlatformSummaryList": [v for v in versions if _filters_match(v, filters)]})

    def describe_platform_version(self) -> ActionResult:
        arn = self._get_param("PlatformArn")
        platform = platforms.find(arn or "", self.region)
        if platform is None:
            raise InvalidParameterValue(f"No Platform named '{arn}' found.")
        return ActionResult({"PlatformDescription": platform.description(self.region)})

    def list_available_solution_stacks(self) -> ActionResult:
        stacks = [p.solution_stack for p in platforms.PLATFORMS]
        return ActionResult({"SolutionStacks": stacks,
                             "SolutionStackDetails": [{"SolutionStackName": s, "PermittedFileTypes": ["zip"]}
                                                      for s in stacks]})

    # -- applications and versions -----------------------------------------------------------------
    def create_storage_location(self) -> ActionResult:
        return ActionResult({"S3Bucket": self.local_eb.storage_location()})

    def create_application(self) -> ActionResult:
        app = self.local_eb.create_application(self._get_param("ApplicationName"), self._get_param("Description", ""))
        return ActionResult({"Application": app.describe()})

    def describe_applications(self) -> ActionResult:
        names = self._get_param("ApplicationNames", [])
        apps = [a.describe() for a in self.local_eb.applications.values() if not names or a.name in names]
        return ActionResult({"Applications": apps})

    def delete_application(self) -> ActionResult:
        self.local_eb.delete_application(self._get_param("ApplicationName"),
                                         bool(self._get_param("TerminateEnvByForce", False)))
        return EmptyResult()

    def create_application_version(self) -> ActionResult:
        bundle = self._get_param("SourceBundle", {}) or {}
        version = self.local_eb.create_version(
            self._get_param("ApplicationName"), self._get_param("VersionLabel"), self._get_param("Description", ""),
            bundle.get("S3Bucket", ""), bundle.get("S3Key", ""), bool(self._get_param("AutoCreateApplication", False)))
        if self._get_param("Process"):
            version.status = "PROCESSED"  # the bundle was read and validated on creation
        return ActionResult({"ApplicationVersion": version.describe()})

    def describe_application_versions(self) -> ActionResult:
        backend = self.local_eb
        name, labels = self._get_param("ApplicationName"), self._get_param("VersionLabels", [])
        apps = [backend.application(name)] if name else list(backend.applications.values())
        versions = [v for app in apps for v in app.versions.values() if not labels or v.label in labels]
        versions.sort(key=lambda v: v.created, reverse=True)
        limit = self._get_param("MaxRecords")
        return ActionResult({"ApplicationVersions": [v.describe() for v in versions[: limit or None]]})

    def delete_application_version(self) -> ActionResult:
        self.local_eb.delete_version(self._get_param("ApplicationName"), self._get_param("VersionLabel"))
        return EmptyResult()

    # -- environments --------------------------------------------------------------------------------
    def check_dns_availability(self) -> ActionResult:
        prefix = self._get_param("CNAMEPrefix")
        return ActionResult({"Available": self.local_eb.cname_available(prefix),
                             "FullyQualifiedCNAME": f"{prefix}.{self.region}.elasticbeanstalk.com"})

    def create_environment(self) -> ActionResult:
        tier = (self._get_param("Tier", {}) or {}).get("Name", "WebServer")
        if tier not in ("WebServer", "Worker"):
            raise InvalidParameterValue(f"Tier {tier} is not valid; use WebServer or Worker.")
        env = self.local_eb.create_environment(
            self._get_param("ApplicationName"), self._get_param("EnvironmentName"), tier,
            self._get_param("PlatformArn") or self._get_param("SolutionStackName"), self._get_param("CNAMEPrefix"),
            self._get_param("VersionLabel"), self._get_param("Description", ""),
            options.from_api(self._get_param("OptionSettings", [])),
            {t["Key"]: t["Value"] for t in self._get_param("Tags", []) or []})
        return ActionResult(env.describe())

    def describe_environments(self) -> ActionResult:
        backend = self.local_eb
        app, label = self._get_param("ApplicationName"), self._get_param("VersionLabel")
        ids, names = self._get_param("EnvironmentIds", []), self._get_param("EnvironmentNames", [])
        include_deleted = self._get_param("IncludeDeleted", True)
        back_to = _time(self._get_param("IncludedDeletedBackTo"))
        found = []
        for env in backend.environments.values():
            if env.status == "Terminated" and (not include_deleted or (back_to and env.terminated_at < back_to)):
                continue
            if (app and env.application != app) or (label and env.version != label):
                continue
            if (ids or names) and env.id not in ids and env.name not in names:
                continue
            found.append(env.describe())
        return ActionResult({"Environments": found})

    def update_environment(self) -> ActionResult:
        remove = [(o.get("Namespace", ""), o.get("OptionName", "")) for o in self._get_param("OptionsToRemove", []) or []]
        env = self.local_eb.update_environment(self._env(), self._get_param("VersionLabel"),
                                               options.from_api(self._get_param("OptionSettings", [])), remove,
                                               self._get_param("Description"))
        return ActionResult(env.describe())

    def abort_environment_update(self) -> ActionResult:
        self.local_eb.abort(self._env())
        return EmptyResult()

    def terminate_environment(self) -> ActionResult:
        return ActionResult(self.local_eb.terminate(self._env()).describe())

    def swap_environment_cnames(self) -> ActionResult:
        backend = self.local_eb
        source = backend.environment(self._get_param("SourceEnvironmentId"), self._get_param("SourceEnvironmentName"))
        destination = backend.environment(self._get_param("DestinationEnvironmentId"),
                                          self._get_param("DestinationEnvironmentName"))
        backend.swap_cnames(source, destination)
        return EmptyResult()

    swap_environment_cnam_es = swap_environment_cnames  # moto's snake_case of SwapEnvironmentCNAMEs

    def describe_events(self) -> ActionResult:
        events = self.local_eb.describe_events(
            self._get_param("ApplicationName"), self._get_param("EnvironmentName"), self._get_param("EnvironmentId"),
            self._get_param("VersionLabel"), _time(self._get_param("StartTime")), _time(self._get_param("EndTime")),
            self._get_param("Severity"), self._get_param("RequestId"))
        limit = self._get_param("MaxRecords")
        return ActionResult({"Events": [e.describe() for e in events[: limit or None]]})

    def describe_environment_health(self) -> ActionResult:
        try:
            env = self._env()
        except InvalidParameterValue as exc:
            raise InvalidRequest(exc.message) from None
        color = env.health
        return ActionResult({
            "EnvironmentName": env.name, "HealthStatus": env.health_status, "Status": env.status, "Color": color,
            "Causes": [] if color != "Red" else ["Application update failed on all instances."],
            "InstancesHealth": {"NoData": 0, "Unknown": 0, "Pending": 0 if env.status == "Ready" else 2,
                                "Ok": 2 if color == "Green" else 0, "Info": 0, "Warning": 0, "Degraded": 0,
                                "Severe": 2 if color == "Red" else 0},
            "RefreshedAt": datetime.now(timezone.utc),
        })

    def describe_instances_health(self) -> ActionResult:
        try:
            env = self._env()
        except InvalidParameterValue as exc:
            raise InvalidRequest(exc.message) from None
        status = {"Green": "Ok", "Red": "Severe"}.get(env.health, "Pending")
        instances = [{"InstanceId": f"i-{env.id[2:]}{n}", "HealthStatus": status, "Color": env.health,
                      "Causes": [], "LaunchedAt": env.created, "AvailabilityZone": f"{env.region}{'ab'[n]}",
                      "InstanceType": "t3.small", "Deployment": {"VersionLabel": env.version or "",
                                                                "Status": "Deployed"}} for n in range(2)]
        return ActionResult({"InstanceHealthList": instances, "RefreshedAt": datetime.now(timezone.utc)})

    def describe_environment_resources(self) -> ActionResult:
        env = self._env()
        resources: dict[str, Any] = {
            "EnvironmentName": env.name,
            "AutoScalingGroups": [{"Name": f"awseb-{env.id}-stack-AWSEBAutoScalingGroup"}],
            "Instances": [{"Id": f"i-{env.id[2:]}{n}"} for n in range(2)],
            "LaunchConfigurations": [], "LaunchTemplates": [{"Id": f"lt-{env.id[2:]}"}], "Triggers": [],
            "LoadBalancers": [{"Name": env.endpoint}] if env.tier == "WebServer" else [],
            "Queues": [{"Name": "WorkerQueue", "URL": env.queue_url}] if env.queue_url else [],
        }
        return ActionResult({"EnvironmentResources": resources})

    def describe_configuration_settings(self) -> ActionResult:
        backend = self.local_eb
        env = backend.environment(None, self._get_param("EnvironmentName"))
        if self._get_param("ApplicationName") and env.application != self._get_param("ApplicationName"):
            raise InvalidParameterValue(f"No Environment found for EnvironmentName = '{env.name}'.")
        settings = [{"Namespace": n, "OptionName": o, "Value": str(v)} for (n, o), v in sorted(env.settings.items())]
        if env.queue_url:
            settings.append({"Namespace": "aws:elasticbeanstalk:sqsd", "OptionName": "WorkerQueueURL",
                             "Value": env.queue_url})
        return ActionResult({"ConfigurationSettings": [{
            "SolutionStackName": env.platform.solution_stack, "PlatformArn": env.platform.arn.format(region=env.region),
            "ApplicationName": env.application, "EnvironmentName": env.name, "DeploymentStatus": "deployed",
            "DateCreated": env.created, "DateUpdated": env.updated, "OptionSettings": settings}]})

    def validate_configuration_settings(self) -> ActionResult:
        backend = self.local_eb
        name = self._get_param("EnvironmentName")
        tier = backend.environment(None, name).tier if name else "WebServer"
        backend.application(self._get_param("ApplicationName"))
        settings = options.from_api(self._get_param("OptionSettings", []))
        messages = []
        for (namespace, option, _), text in zip(settings, _per_setting(settings, tier)):
            if text:
                messages.append({"Message": text, "Severity": "error", "Namespace": namespace, "OptionName": option})
        return ActionResult({"Messages": messages})

    def update_tags_for_resource(self) -> ActionResult:
        env = self._env_by_arn(self._get_param("ResourceArn"))
        env.tags.update({t["Key"]: t["Value"] for t in self._get_param("TagsToAdd", []) or []})
        for key in self._get_param("TagsToRemove", []) or []:
            env.tags.pop(key, None)
        return EmptyResult()

    def list_tags_for_resource(self) -> ActionResult:
        arn = self._get_param("ResourceArn")
        env = self._env_by_arn(arn)
        return ActionResult({"ResourceArn": arn, "ResourceTags": [{"Key": k, "Value": v} for k, v in env.tags.items()]})

    def _env_by_arn(self, arn: str) -> Environment:
        for env in self.local_eb.live_environments():
            if env.arn == arn:
                return env
        from moto.elasticbeanstalk.exceptions import ResourceNotFoundException

        raise ResourceNotFoundException(f"Resource not found for ARN '{arn}'.")


def _per_setting(settings: list[tuple[str, str, object]], tier: str) -> list[str | None]:
    return [next(iter(options.validate([s], tier)), None) for s in settings]
