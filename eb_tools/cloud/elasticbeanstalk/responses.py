"""Wire format of the emulated Elastic Beanstalk (moto's responses.py split): it only translates.

Each method is named after an EB operation in snake_case: it reads the request's
parameters, makes one call to the backend (models.py) and returns moto's
ActionResult with the output shape's fields, which moto serializes from
botocore's model; the backend's ServiceExceptions become EB's errors.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eb_tools.cloud.elasticbeanstalk import options
from eb_tools.cloud.elasticbeanstalk.entities import TIERS
from eb_tools.cloud.elasticbeanstalk.models import LocalEBBackend, eb_local_backends
from eb_tools.cloud.moto_internals import ActionResult, EBResponse, EmptyResult


def _time(value: Any) -> datetime | None:
    """A timestamp parameter (ISO 8601 or epoch seconds) as an aware datetime; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if text.replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(text), tz=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _attributes(entry: dict[str, object], names: list[str] | None, always: str) -> dict[str, object]:
    """The attributes of a health answer that AttributeNames asks for ("All" for every one); `always` besides."""
    names = names or []
    return entry if "All" in names else {k: v for k, v in entry.items() if k == always or k in names}


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


class ElasticBeanstalkOperations(EBResponse):
    """The operations register() copies onto moto's EBResponse; a subclass so that `self` is typed."""

    @property
    def local_eb(self) -> LocalEBBackend:
        return eb_local_backends[self.current_account][self.region]

    def _which(self, prefix: str = "") -> tuple[str | None, str | None]:
        """The environment a request names, by id or by name (`prefix` "Source"/"Destination" for a swap)."""
        return self._get_param(f"{prefix}EnvironmentId"), self._get_param(f"{prefix}EnvironmentName")

    # -- platforms ---------------------------------------------------------------------------------
    def list_platform_branches(self) -> ActionResult:
        branches = self.local_eb.list_platform_branches(self._get_param("Filters", []))
        return ActionResult({"PlatformBranchSummaryList": branches})

    def list_platform_versions(self) -> ActionResult:
        summaries = self.local_eb.list_platform_versions(self._get_param("Filters", []))
        return ActionResult({"PlatformSummaryList": summaries})

    def describe_platform_version(self) -> ActionResult:
        description = self.local_eb.describe_platform_version(self._get_param("PlatformArn"))
        return ActionResult({"PlatformDescription": description})

    def list_available_solution_stacks(self) -> ActionResult:
        stacks = self.local_eb.solution_stacks()
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
        apps = self.local_eb.describe_applications(self._get_param("ApplicationNames", []))
        return ActionResult({"Applications": [a.describe() for a in apps]})

    def delete_application(self) -> ActionResult:
        self.local_eb.delete_application(self._get_param("ApplicationName"),
                                         bool(self._get_param("TerminateEnvByForce", False)))
        return EmptyResult()

    def create_application_version(self) -> ActionResult:
        bundle = self._get_param("SourceBundle", {}) or {}
        version = self.local_eb.create_version(
            self._get_param("ApplicationName"), self._get_param("VersionLabel"), self._get_param("Description", ""),
            bundle.get("S3Bucket", ""), bundle.get("S3Key", ""), bool(self._get_param("AutoCreateApplication", False)),
            bool(self._get_param("Process", False)))
        return ActionResult({"ApplicationVersion": version.describe()})

    def describe_application_versions(self) -> ActionResult:
        versions = self.local_eb.describe_versions(self._get_param("ApplicationName"),
                                                   self._get_param("VersionLabels", []), self._get_param("MaxRecords"))
        return ActionResult({"ApplicationVersions": [v.describe() for v in versions]})

    def delete_application_version(self) -> ActionResult:
        self.local_eb.delete_version(self._get_param("ApplicationName"), self._get_param("VersionLabel"))
        return EmptyResult()

    # -- environments --------------------------------------------------------------------------------
    def check_dns_availability(self) -> ActionResult:
        available, cname = self.local_eb.check_dns(self._get_param("CNAMEPrefix"))
        return ActionResult({"Available": available, "FullyQualifiedCNAME": cname})

    def create_environment(self) -> ActionResult:
        env = self.local_eb.create_environment(
            self._get_param("ApplicationName"), self._get_param("EnvironmentName"),
            (self._get_param("Tier", {}) or {}).get("Name"),
            self._get_param("PlatformArn") or self._get_param("SolutionStackName"), self._get_param("CNAMEPrefix"),
            self._get_param("VersionLabel"), self._get_param("Description", ""),
            options.from_api(self._get_param("OptionSettings", [])), _tags(self._get_param("Tags", [])),
            self._get_param("TemplateName"))
        return ActionResult(env.describe())

    def describe_environments(self) -> ActionResult:
        envs = self.local_eb.describe_environments(
            self._get_param("ApplicationName"), self._get_param("VersionLabel"),
            self._get_param("EnvironmentIds", []), self._get_param("EnvironmentNames", []),
            self._get_param("IncludeDeleted", True), _time(self._get_param("IncludedDeletedBackTo")))
        return ActionResult({"Environments": [e.describe() for e in envs]})

    def update_environment(self) -> ActionResult:
        env = self.local_eb.update_environment(*self._which(), self._get_param("VersionLabel"),
                                               options.from_api(self._get_param("OptionSettings", [])),
                                               options.keys_from_api(self._get_param("OptionsToRemove", [])),
                                               self._get_param("Description"), self._get_param("TemplateName"))
        return ActionResult(env.describe())

    def abort_environment_update(self) -> ActionResult:
        self.local_eb.abort(*self._which())
        return EmptyResult()

    def terminate_environment(self) -> ActionResult:
        return ActionResult(self.local_eb.terminate(*self._which()).describe())

    def swap_environment_cnames(self) -> ActionResult:
        self.local_eb.swap_cnames(*self._which("Source"), *self._which("Destination"))
        return EmptyResult()

    swap_environment_cnam_es = swap_environment_cnames  # moto's snake_case of SwapEnvironmentCNAMEs

    def describe_events(self) -> ActionResult:
        events = self.local_eb.describe_events(
            self._get_param("ApplicationName"), self._get_param("EnvironmentName"), self._get_param("EnvironmentId"),
            self._get_param("VersionLabel"), _time(self._get_param("StartTime")), _time(self._get_param("EndTime")),
            self._get_param("Severity"), self._get_param("RequestId"), self._get_param("MaxRecords"))
        return ActionResult({"Events": [e.describe() for e in events]})

    def describe_environment_health(self) -> ActionResult:
        env, refreshed_at = self.local_eb.health(*self._which())
        report = _attributes(env.health_report(refreshed_at), self._get_param("AttributeNames", []), "EnvironmentName")
        return ActionResult(report)

    def describe_instances_health(self) -> ActionResult:
        env, refreshed_at = self.local_eb.health(*self._which())
        names = self._get_param("AttributeNames", [])
        listed = [_attributes(i, names, "InstanceId") for i in env.instances_health()]
        return ActionResult({"InstanceHealthList": listed, "RefreshedAt": refreshed_at})

    def describe_environment_resources(self) -> ActionResult:
        return ActionResult({"EnvironmentResources": self.local_eb.environment_resources(*self._which())})

    def describe_configuration_settings(self) -> ActionResult:
        settings = self.local_eb.configuration_settings(self._get_param("ApplicationName"),
                                                        self._get_param("EnvironmentName"),
                                                        self._get_param("TemplateName"))
        return ActionResult({"ConfigurationSettings": [settings]})

    def describe_configuration_options(self) -> ActionResult:
        wanted = [(o.get("Namespace", ""), o.get("OptionName", "")) for o in self._get_param("Options", []) or []]
        platform, tier, described = self.local_eb.configuration_options(
            self._get_param("ApplicationName"), self._get_param("EnvironmentName"), self._get_param("TemplateName"),
            self._get_param("PlatformArn") or self._get_param("SolutionStackName"),
            (self._get_param("Tier", {}) or {}).get("Name"), wanted)
        return ActionResult({"SolutionStackName": platform.solution_stack, "PlatformArn": platform.arn_in(self.region),
                             "Tier": TIERS[tier], "Options": described})

    # -- saved configurations --------------------------------------------------------------------------
    def create_configuration_template(self) -> ActionResult:
        source = self._get_param("SourceConfiguration", {}) or {}
        # The eb CLI names the environment in TemplateSpecification (EB's API beyond botocore's public model).
        spec_source = (self._get_param("TemplateSpecification", {}) or {}).get("TemplateSource", {}) or {}
        template = self.local_eb.create_template(
            self._get_param("ApplicationName"), self._get_param("TemplateName") or "",
            self._get_param("Description", "") or "",
            self._get_param("PlatformArn") or self._get_param("SolutionStackName")
            or spec_source.get("PlatformArn") or spec_source.get("SolutionStackName"),
            (source["ApplicationName"], source["TemplateName"]) if source.get("TemplateName") else None,
            self._get_param("EnvironmentId"), spec_source.get("EnvironmentName"),
            (self._get_param("Tier", {}) or {}).get("Name"),
            options.from_api(self._get_param("OptionSettings", [])),
            options.keys_from_api(self._get_param("OptionsToRemove", [])), _tags(self._get_param("Tags", [])))
        return ActionResult(template.configuration(self.region))

    def update_configuration_template(self) -> ActionResult:
        template = self.local_eb.update_template(
            self._get_param("ApplicationName"), self._get_param("TemplateName"), self._get_param("Description"),
            options.from_api(self._get_param("OptionSettings", [])),
            options.keys_from_api(self._get_param("OptionsToRemove", [])))
        return ActionResult(template.configuration(self.region))

    def delete_configuration_template(self) -> ActionResult:
        self.local_eb.delete_template(self._get_param("ApplicationName"), self._get_param("TemplateName"))
        return EmptyResult()

    # -- logs ------------------------------------------------------------------------------------------
    def request_environment_info(self) -> ActionResult:
        self.local_eb.request_info(*self._which(), self._get_param("InfoType"))
        return EmptyResult()

    def retrieve_environment_info(self) -> ActionResult:
        host = self.headers.get("Host", "127.0.0.1")
        info = self.local_eb.retrieve_info(*self._which(), self._get_param("InfoType"), f"http://{host}")
        return ActionResult({"EnvironmentInfo": info})

    def rebuild_environment(self) -> ActionResult:
        self.local_eb.rebuild(*self._which())
        return EmptyResult()

    def validate_configuration_settings(self) -> ActionResult:
        messages = self.local_eb.validate_settings(self._get_param("ApplicationName"),
                                                   self._get_param("EnvironmentName"), self._get_param("TemplateName"),
                                                   options.from_api(self._get_param("OptionSettings", [])))
        return ActionResult({"Messages": messages})

    def update_tags_for_resource(self) -> ActionResult:
        self.local_eb.update_tags(self._get_param("ResourceArn"), _tags(self._get_param("TagsToAdd", [])),
                                  self._get_param("TagsToRemove", []) or [])
        return EmptyResult()

    def list_tags_for_resource(self) -> ActionResult:
        arn = self._get_param("ResourceArn")
        tags = self.local_eb.list_tags(arn)
        return ActionResult({"ResourceArn": arn, "ResourceTags": [{"Key": k, "Value": v} for k, v in tags.items()]})
