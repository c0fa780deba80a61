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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from eb_tools.bundle import build
from eb_tools.local.elasticbeanstalk.platforms import PLATFORMS
from eb_tools.local.resources import LocalStage
from eb_tools.local.sqsd import SqsdOptions

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


def application_name(root: Path) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", root.name).strip("-")[:90] or "app"


def deploy(session: Any, endpoint: str, root: Path, data_dir: Path, stage: LocalStage,
           timeout: float = 60) -> DeployedStage:
    eb = session.client("elasticbeanstalk", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    app = application_name(root)
    bundle = build(root, data_dir / "bundles", working_tree=True)
    if not eb.describe_applications(ApplicationNames=[app])["Applications"]:
        eb.create_application(ApplicationName=app, Description="the local stage of eb_tools local")
    if not eb.describe_application_versions(ApplicationName=app, VersionLabels=[bundle.label])["ApplicationVersions"]:
        bucket = eb.create_storage_location()["S3Bucket"]
        key = f"{app}/{bundle.label}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=bundle.path.read_bytes())
        eb.create_application_version(ApplicationName=app, VersionLabel=bundle.label, Process=True,
                                      Description=f"eb_tools local: {root}",
                                      SourceBundle={"S3Bucket": bucket, "S3Key": key})
    names = {"web": f"{app}-local-web"[:40], "worker": f"{app}-local-worker"[:40]}
    existing = {e["EnvironmentName"]: e for e in
                eb.describe_environments(ApplicationName=app, IncludeDeleted=False)["Environments"]}
    for role, name in names.items():
        if name not in existing:
            tier = {"Name": "Worker", "Type": "SQS/HTTP"} if role == "worker" else {"Name": "WebServer", "Type": "Standard"}
            eb.create_environment(ApplicationName=app, EnvironmentName=name, Tier=tier, VersionLabel=bundle.label,
                                  PlatformArn=PLATFORM.arn.format(region=session.region_name),
                                  OptionSettings=_settings(role, stage),
                                  **({"CNAMEPrefix": name} if role == "web" else {}))
        elif existing[name].get("VersionLabel") != bundle.label:
            eb.update_environment(EnvironmentName=name, VersionLabel=bundle.label)
    _wait(eb, app, names.values(), bundle.label, timeout)
    return DeployedStage(app, bundle.label, names["web"], names["worker"], _sqsd_options(eb, app, names["worker"]))


def _settings(role: str, stage: LocalStage) -> list[dict[str, str]]:
    properties = {**stage.environment(), "APP_ROLE": role}
    settings = [{"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": k, "Value": v}
                for k, v in sorted(properties.items())]
    if role == "worker":
        settings += [{"Namespace": "aws:elasticbeanstalk:sqsd", "OptionName": name, "Value": value} for name, value in
                     (("WorkerQueueURL", stage.queue_url), ("HttpPath", "/"), ("MimeType", "application/json"))]
    return settings


def _wait(eb: Any, app: str, names, label: str, timeout: float) -> None:
    """Until both environments are Ready; a deployment EB failed is one clear error."""
    deadline = time.monotonic() + timeout
    while True:
        envs = eb.describe_environments(ApplicationName=app, EnvironmentNames=list(names),
                                        IncludeDeleted=False)["Environments"]
        if all(e["Status"] == "Ready" for e in envs):
            break
        if time.monotonic() > deadline:
            raise click.ClickException(f"the local environments were not Ready after {timeout:.0f}s")
        time.sleep(0.2)
    failed = [e["EnvironmentName"] for e in envs if e.get("VersionLabel") != label]
    if failed:
        errors = [e["Message"] for e in eb.describe_events(ApplicationName=app, Severity="ERROR",
                                                           EnvironmentName=failed[0])["Events"]]
        raise click.ClickException(f"Elastic Beanstalk refused version {label} on {failed[0]}: "
                                   f"{errors[-1] if errors else 'see eb events'}; fix the bundle "
                                   "(eb_tools check shows why) and run again")


def _sqsd_options(eb: Any, app: str, worker: str) -> SqsdOptions:
    """The worker environment's aws:elasticbeanstalk:sqsd options, as sqsd would read them."""
    described = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=worker)
    values = {s["OptionName"]: s["Value"] for s in described["ConfigurationSettings"][0]["OptionSettings"]
              if s["Namespace"] == "aws:elasticbeanstalk:sqsd" and s["OptionName"] in SQSD_OPTIONS}
    fields = {SQSD_OPTIONS[name]: (value if name in ("HttpPath", "MimeType") else int(value))
              for name, value in values.items()}
    return SqsdOptions(**fields, wait_time_seconds=2)
