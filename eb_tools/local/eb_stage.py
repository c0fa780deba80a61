"""The local stage's Elastic Beanstalk side: the application, both environments, the version.

What `eb_tools provision` and `deploy` do against AWS, done against the emulated
EB so that `eb status`, `eb events` and eb_tools see the local stage like any
other: the working tree is bundled as `eb deploy` would, uploaded, registered as
a version and deployed to the web and the worker environment together. The
emulated EB checks the bundle's .ebextensions as EB does, so a bundle EB would
refuse fails here too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from eb_tools.aws import LOCAL_REGION, WaitTimeout, local_client, wait_until
from eb_tools.bundle import build
from eb_tools.local.elasticbeanstalk.platforms import PLATFORMS
from eb_tools.local.resources import LocalStage
from eb_tools.local.sqsd import SqsdOptions
from eb_tools.names import environment_names

PLATFORM = next(p for p in PLATFORMS if p.python == "3.11")
SQSD_OPTIONS = {  # option name -> SqsdOptions field
    "HttpPath": "http_path", "MimeType": "mime_type", "HttpConnections": "http_connections",
    "ConnectTimeout": "connect_timeout", "InactivityTimeout": "inactivity_timeout",
    "VisibilityTimeout": "visibility_timeout", "ErrorVisibilityTimeout": "error_visibility_timeout",
    "MaxRetries": "max_retries",
}


@dataclass(frozen=True)
class DeployedStage:
    application: str
    label: str
    web: str
    worker: str
    sqsd: SqsdOptions
    storage_bucket: str  # EB's bucket of source bundles


def application_name(root: Path) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", root.name).strip("-")[:90] or "app"


def deploy(endpoint: str, root: Path, data_dir: Path, stage: LocalStage, timeout: float = 60) -> DeployedStage:
    eb = local_client("elasticbeanstalk", endpoint)
    s3 = local_client("s3", endpoint)
    app = application_name(root)
    bundle = build(root, data_dir / "bundles", working_tree=True)
    if not eb.describe_applications(ApplicationNames=[app])["Applications"]:
        eb.create_application(ApplicationName=app, Description="the local stage of eb_tools local")
    bucket = eb.create_storage_location()["S3Bucket"]
    if not eb.describe_application_versions(ApplicationName=app, VersionLabels=[bundle.label])["ApplicationVersions"]:
        key = f"{app}/{bundle.label}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=bundle.path.read_bytes())
        eb.create_application_version(ApplicationName=app, VersionLabel=bundle.label, Process=True,
                                      Description=f"eb_tools local: {root}",
                                      SourceBundle={"S3Bucket": bucket, "S3Key": key})
    names = environment_names(app, "local")
    existing = {e["EnvironmentName"]: e for e in
                eb.describe_environments(ApplicationName=app, IncludeDeleted=False)["Environments"]}
    requests: dict[str, str] = {}  # environment -> the request id its events of this run carry
    for role, name in names.items():
        if name not in existing:
            tier = {"Name": "Worker", "Type": "SQS/HTTP"} if role == "worker" else \
                {"Name": "WebServer", "Type": "Standard"}
            answer = eb.create_environment(ApplicationName=app, EnvironmentName=name, Tier=tier,
                                           VersionLabel=bundle.label,
                                           PlatformArn=PLATFORM.arn.format(region=LOCAL_REGION),
                                           OptionSettings=_settings(role, stage),
                                           **({"CNAMEPrefix": name} if role == "web" else {}))
        elif existing[name].get("VersionLabel") != bundle.label:
            answer = eb.update_environment(EnvironmentName=name, VersionLabel=bundle.label)
        else:
            continue
        requests[name] = answer["ResponseMetadata"]["RequestId"]
    _wait(eb, app, requests, bundle.label, timeout)
    return DeployedStage(app, bundle.label, names["web"], names["worker"], _sqsd_options(eb, app, names["worker"]),
                         bucket)


def _settings(role: str, stage: LocalStage) -> list[dict[str, str]]:
    properties = {**stage.environment(), "APP_ROLE": role}
    settings = [{"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": k, "Value": v}
                for k, v in sorted(properties.items())]
    if role == "worker":
        settings += [{"Namespace": "aws:elasticbeanstalk:sqsd", "OptionName": name, "Value": value} for name, value in
                     (("WorkerQueueURL", stage.queue_url), ("HttpPath", "/"), ("MimeType", "application/json"))]
    return settings


def _wait(eb: Any, app: str, requests: dict[str, str], label: str, timeout: float) -> None:
    """Until the environments this run changed are Ready; a deployment EB failed is one clear error,
    its cause read from the events of this run's request (older failures are not this one's)."""
    if not requests:
        return

    def ready() -> list[dict[str, Any]]:
        envs: list[dict[str, Any]] = eb.describe_environments(ApplicationName=app, EnvironmentNames=list(requests),
                                                              IncludeDeleted=False)["Environments"]
        return envs if all(e["Status"] == "Ready" for e in envs) else []

    try:
        envs = wait_until(ready, timeout, "the local environments Ready")
    except WaitTimeout as error:
        raise click.ClickException(str(error)) from None
    failed = [e["EnvironmentName"] for e in envs if e.get("VersionLabel") != label]
    if failed:
        events = eb.describe_events(ApplicationName=app, EnvironmentName=failed[0], Severity="ERROR",
                                    RequestId=requests[failed[0]])["Events"]
        cause = events[-1]["Message"] if events else "see eb events"  # newest first: the last came first
        raise click.ClickException(f"Elastic Beanstalk refused version {label} on {failed[0]}: {cause}; "
                                   "fix the bundle (eb_tools check shows why) and run again")


def _sqsd_options(eb: Any, app: str, worker: str) -> SqsdOptions:
    """The worker environment's aws:elasticbeanstalk:sqsd options, as sqsd would read them."""
    described = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=worker)
    values = {s["OptionName"]: s["Value"] for s in described["ConfigurationSettings"][0]["OptionSettings"]
              if s["Namespace"] == "aws:elasticbeanstalk:sqsd" and s["OptionName"] in SQSD_OPTIONS}
    fields: dict[str, Any] = {SQSD_OPTIONS[name]: (value if name in ("HttpPath", "MimeType") else int(value))
                              for name, value in values.items()}
    return SqsdOptions(**fields, wait_time_seconds=2)
