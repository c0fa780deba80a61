"""Put one version on a stage's environments, web and worker together.

The bundle goes to Elastic Beanstalk's storage bucket and is registered as an
application version once (labels are unique per application, so a label means
the same bytes on every stage of it); then every environment not already on the
label is updated at once and watched. A failure names the environment and EB's
first reason, read from the events of this deployment's own request.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from eb_tools import ebenv
from eb_tools.aws import Target
from eb_tools.bundle import Bundle

DEPLOY_TIMEOUT = 1800.0


class ReleaseError(Exception):
    """One line: which environment refused which version, and why."""


def register_version(target: Target, application: str, bundle: Bundle, description: str) -> str:
    """Upload the bundle and register it as version `bundle.label`, unless that label exists. A version
    belongs to its application: one never provisioned is created here, as `eb init` would."""
    eb = target.client("elasticbeanstalk")
    if not eb.describe_applications(ApplicationNames=[application])["Applications"]:
        eb.create_application(ApplicationName=application, Description=ebenv.APPLICATION_DESCRIPTION)
    if not eb.describe_application_versions(ApplicationName=application,
                                            VersionLabels=[bundle.label])["ApplicationVersions"]:
        bucket, key = eb.create_storage_location()["S3Bucket"], f"{application}/{bundle.label}.zip"
        target.client("s3").put_object(Bucket=bucket, Key=key, Body=bundle.path.read_bytes())
        eb.create_application_version(ApplicationName=application, VersionLabel=bundle.label, Process=True,
                                      Description=description[:200], SourceBundle={"S3Bucket": bucket, "S3Key": key})
    return bundle.label


def deploy(target: Target, application: str, environments: list[str], label: str, echo: Callable[[str], None],
           timeout: float = DEPLOY_TIMEOUT, interval: float = 2.0) -> None:
    """Every environment of `environments` on `label`, or ReleaseError naming the one that refused it."""
    eb = target.client("elasticbeanstalk")
    live = {e["EnvironmentName"]: e for e in eb.describe_environments(
        ApplicationName=application, EnvironmentNames=environments, IncludeDeleted=False)["Environments"]}
    missing = [name for name in environments if name not in live]
    if missing:
        raise ReleaseError(f"no environment {', '.join(missing)} in application {application}: "
                           "run eb_tools provision for the stage first")
    started = datetime.now(UTC)
    requests: dict[str, str] = {}
    for name in environments:
        if live[name].get("VersionLabel") != label:
            answer = eb.update_environment(ApplicationName=application, EnvironmentName=name, VersionLabel=label)
            requests[name] = answer["ResponseMetadata"]["RequestId"]
    if not requests:
        return
    try:
        settled = ebenv.watch(eb, application, requests, started, echo, timeout, interval)
    except ebenv.WaitTimeout as error:
        raise ReleaseError(f"{error}; the deployment goes on: watch it with eb events") from None
    except ebenv.OperationFailed as error:
        raise ReleaseError(f"Elastic Beanstalk refused version {label} on {error}; fix the bundle "
                           "(eb_tools check shows why) and deploy again") from None
    behind = [e["EnvironmentName"] for e in settled if e.get("VersionLabel") != label]
    if behind:
        raise ReleaseError(f"Elastic Beanstalk left {', '.join(behind)} on another version than {label}; "
                           "see eb events")
