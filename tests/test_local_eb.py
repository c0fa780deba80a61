"""The emulated Elastic Beanstalk, through boto3: shapes, states, events and AWS's errors."""
from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.local.cloud import LocalCloud
from eb_tools.local.elasticbeanstalk import LocalEBBackend
from tests.conftest import aws_client

STACK = "64bit Amazon Linux 2023 v4.6.0 running Python 3.11"
WORKER = {"Name": "Worker", "Type": "SQS/HTTP"}


@pytest.fixture
def eb(cloud: LocalCloud) -> Iterator[Any]:
    previous, LocalEBBackend.transition_seconds = LocalEBBackend.transition_seconds, 0.2
    yield aws_client(cloud, "elasticbeanstalk")
    LocalEBBackend.transition_seconds = previous


@pytest.fixture
def app(eb: Any) -> str:
    name = f"app-{uuid.uuid4().hex[:6]}"
    eb.create_application(ApplicationName=name, Description="test")
    return name


def bundle(**files: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("Procfile", "web: gunicorn wsgi:application\n")
        for name, text in files.items():
            archive.writestr(name.replace("__", "/").replace("_config", ".config"), text)
    return out.getvalue()


def version(eb: Any, cloud: LocalCloud, app: str, label: str, data: bytes | None = None,
            description: str = "") -> dict[str, Any]:
    bucket = eb.create_storage_location()["S3Bucket"]
    aws_client(cloud, "s3").put_object(Bucket=bucket, Key=f"{app}/{label}.zip", Body=data or bundle())
    return eb.create_application_version(ApplicationName=app, VersionLabel=label, Description=description,
                                         SourceBundle={"S3Bucket": bucket, "S3Key": f"{app}/{label}.zip"})


def wait_ready(eb: Any, name: str, timeout: float = 10) -> dict[str, Any]:
    """The environment once Ready, which a failed deployment is too (with health Red)."""
    def ready() -> dict[str, Any]:
        env = eb.describe_environments(EnvironmentNames=[name], IncludeDeleted=False)["Environments"][0]
        return env if env["Status"] == "Ready" else {}

    return wait_until(ready, timeout, f"{name} Ready")


def messages(eb: Any, app: str, env: str | None = None, **extra: Any) -> list[str]:
    kwargs = {"ApplicationName": app, **({"EnvironmentName": env} if env else {}), **extra}
    return [e["Message"] for e in reversed(eb.describe_events(**kwargs)["Events"])]


def test_platform_catalogue(eb: Any) -> None:
    branch = "Python 3.11 running on 64bit Amazon Linux 2023"
    branches = eb.list_platform_branches(
        Filters=[{"Attribute": "BranchName", "Operator": "=", "Values": [branch]}])["PlatformBranchSummaryList"]
    assert [b["BranchName"] for b in branches] == [branch]
    assert eb.list_platform_branches(Filters=[{"Attribute": "BranchName", "Operator": "=",
                                               "Values": ["python-3.11"]}])["PlatformBranchSummaryList"] == []
    versions = eb.list_platform_versions(
        Filters=[{"Type": "PlatformBranchName", "Operator": "=", "Values": [branch]}])["PlatformSummaryList"]
    arn = versions[0]["PlatformArn"]
    described = eb.describe_platform_version(PlatformArn=arn)["PlatformDescription"]
    assert described["SolutionStackName"] == STACK and described["PlatformLifecycleState"] == "Recommended"
    with pytest.raises(ClientError, match="No Platform named"):
        eb.describe_platform_version(PlatformArn=arn.replace("3.11", "2.7"))


def test_application_versions_need_their_bundle(eb: Any, cloud: LocalCloud, app: str) -> None:
    created = version(eb, cloud, app, "v1", description="first")["ApplicationVersion"]
    assert created["Status"] == "UNPROCESSED" and created["SourceBundle"]["S3Key"] == f"{app}/v1.zip"
    version(eb, cloud, app, "v2")
    with pytest.raises(ClientError) as missing:
        eb.create_application_version(ApplicationName=app, VersionLabel="v3",
                                      SourceBundle={"S3Bucket": "no-such-bucket", "S3Key": "x.zip"})
    assert missing.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert "Unable to download from S3 location (Bucket: no-such-bucket  Key: x.zip)" in str(missing.value)
    with pytest.raises(ClientError, match="Application Version v1 already exists."):
        version(eb, cloud, app, "v1")
    listed = eb.describe_application_versions(ApplicationName=app)["ApplicationVersions"]
    assert [v["VersionLabel"] for v in listed] == ["v2", "v1"]
    assert eb.describe_applications(ApplicationNames=[app])["Applications"][0]["Versions"] == ["v2", "v1"]
    assert eb.describe_applications(ApplicationNames=["nope-app"])["Applications"] == []


def test_web_and_worker_environments_launch(eb: Any, cloud: LocalCloud, app: str) -> None:
    version(eb, cloud, app, "v1")
    web = eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-web", CNAMEPrefix=f"{app}-web",
                                SolutionStackName=STACK, VersionLabel="v1")
    assert (web["Status"], web["Health"]) == ("Launching", "Grey")
    assert web["CNAME"] == f"{app}-web.us-east-1.elasticbeanstalk.com"
    worker = eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-worker", Tier=WORKER,
                                   SolutionStackName=STACK, VersionLabel="v1")
    assert worker["Tier"] == {"Name": "Worker", "Type": "SQS/HTTP", "Version": "1.0"} and "CNAME" not in worker
    assert not eb.check_dns_availability(CNAMEPrefix=f"{app}-web")["Available"]
    for name in (f"{app}-web", f"{app}-worker"):
        ready = wait_ready(eb, name)
        assert (ready["Status"], ready["Health"], ready["VersionLabel"]) == ("Ready", "Green", "v1")
        assert f"Successfully launched environment: {name}" in messages(eb, app, name)
    queues = eb.describe_environment_resources(EnvironmentName=f"{app}-worker")["EnvironmentResources"]["Queues"]
    queue_name = queues[0]["URL"].rsplit("/", 1)[1]
    assert aws_client(cloud, "sqs").get_queue_url(QueueName=queue_name)["QueueUrl"].endswith(queue_name)
    with pytest.raises(ClientError, match=f"Environment {app}-web already exists."):
        eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-web", SolutionStackName=STACK)


def test_deploy_events_and_cursor(eb: Any, cloud: LocalCloud, app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    version(eb, cloud, app, "v1")
    version(eb, cloud, app, "v2")
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-web", SolutionStackName=STACK, VersionLabel="v1")
    launched = wait_ready(eb, f"{app}-web")
    monkeypatch.setattr(LocalEBBackend, "transition_seconds", 1.0)  # time for the second call to find it Updating
    assert eb.update_environment(EnvironmentName=f"{app}-web", VersionLabel="v2")["Status"] == "Updating"
    with pytest.raises(ClientError, match="invalid state for this operation. Must be Ready."):
        eb.update_environment(EnvironmentName=f"{app}-web", VersionLabel="v2")
    cursor = eb.describe_events(ApplicationName=app)["Events"][0]["EventDate"] + timedelta(milliseconds=1)
    updated = wait_ready(eb, f"{app}-web")
    assert updated["VersionLabel"] == "v2" and updated["DateUpdated"] > launched["DateUpdated"]
    newer = [e["Message"] for e in eb.describe_events(ApplicationName=app, StartTime=cursor)["Events"]]
    assert newer == ["Environment update completed successfully.",
                     "New application version was deployed to running EC2 instances."]
    assert eb.describe_events(ApplicationName=app, Severity="ERROR")["Events"] == []


def test_a_failing_version_rolls_back(eb: Any, cloud: LocalCloud, app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    version(eb, cloud, app, "good")
    version(eb, cloud, app, "bad", description="[local:fail] broken build")
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-web", SolutionStackName=STACK,
                          VersionLabel="good")
    wait_ready(eb, f"{app}-web")
    # Slow the clock: the Red spell between the failure and the recovery lasts one transition.
    monkeypatch.setattr(LocalEBBackend, "transition_seconds", 1.0)
    eb.update_environment(EnvironmentName=f"{app}-web", VersionLabel="bad")
    env = wait_ready(eb, f"{app}-web")
    assert (env["Health"], env["VersionLabel"]) == ("Red", "good")
    health = eb.describe_environment_health(EnvironmentName=f"{app}-web", AttributeNames=["All"])
    assert health["Color"] == "Red" and health["Causes"]
    errors = [e["Message"] for e in eb.describe_events(ApplicationName=app, Severity="ERROR")["Events"]]
    assert "Failed to deploy application." in errors
    assert any(m.startswith("Update environment operation is complete, but with errors.") for m in errors)
    recovered = wait_until(
        lambda: [e for e in eb.describe_environments(EnvironmentNames=[f"{app}-web"])["Environments"]
                 if e["Health"] == "Green"], 10, "the previous version serving again (health Green)")
    assert recovered[0]["VersionLabel"] == "good"
    assert "Environment health has transitioned from Severe to Ok." in messages(eb, app, f"{app}-web")


def test_load_balancer_options_fail_a_worker_but_not_a_web_environment(eb: Any, cloud: LocalCloud, app: str) -> None:
    alb = "option_settings:\n  aws:elbv2:loadbalancer:\n    IdleTimeout: 120\n"
    version(eb, cloud, app, "alb", bundle(**{".ebextensions__01_alb_config": alb}))
    for name, tier in ((f"{app}-web", None), (f"{app}-wrk", WORKER)):
        eb.create_environment(ApplicationName=app, EnvironmentName=name, SolutionStackName=STACK,
                              VersionLabel="alb", **({"Tier": tier} if tier else {}))
    assert wait_ready(eb, f"{app}-web")["Health"] == "Green"
    worker = wait_ready(eb, f"{app}-wrk")
    assert worker["Health"] == "Red" and "VersionLabel" not in worker
    assert any("AWSEBLoadBalancer doesn't exist" in m for m in messages(eb, app, f"{app}-wrk"))
    with pytest.raises(ClientError) as refused:
        eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-w2", Tier=WORKER, SolutionStackName=STACK,
                              OptionSettings=[{"Namespace": "aws:elbv2:loadbalancer", "OptionName": "IdleTimeout",
                                               "Value": "60"}])
    assert refused.value.response["Error"]["Code"] == "ConfigurationValidationException"


def test_swap_cnames_between_web_environments_only(eb: Any, cloud: LocalCloud, app: str) -> None:
    for name in (f"{app}-blue", f"{app}-green"):
        eb.create_environment(ApplicationName=app, EnvironmentName=name, SolutionStackName=STACK, CNAMEPrefix=name)
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-wk", SolutionStackName=STACK, Tier=WORKER)
    for name in (f"{app}-blue", f"{app}-green", f"{app}-wk"):
        wait_ready(eb, name)
    eb.swap_environment_cnames(SourceEnvironmentName=f"{app}-blue", DestinationEnvironmentName=f"{app}-green")
    cnames = {e["EnvironmentName"]: e["CNAME"] for e in eb.describe_environments(
        EnvironmentNames=[f"{app}-blue", f"{app}-green"])["Environments"]}
    assert cnames[f"{app}-blue"].startswith(f"{app}-green.") and cnames[f"{app}-green"].startswith(f"{app}-blue.")
    assert any(m.startswith("Completed swapping CNAMEs for environments") for m in messages(eb, app, f"{app}-blue"))
    with pytest.raises(ClientError, match="worker environment"):
        eb.swap_environment_cnames(SourceEnvironmentName=f"{app}-blue", DestinationEnvironmentName=f"{app}-wk")


def test_errors_are_aws_shaped_and_fast(eb: Any, app: str) -> None:
    with pytest.raises(ClientError) as unknown:
        eb.update_environment(EnvironmentName="nope-env", VersionLabel="v1")
    assert unknown.value.response["Error"] == {"Type": "Sender", "Code": "InvalidParameterValue",
                                               "Message": "No Environment found for EnvironmentName = 'nope-env'."}
    with pytest.raises(eb.exceptions.InvalidRequestException):
        eb.describe_environment_health(EnvironmentName="nope-env", AttributeNames=["All"])
    with pytest.raises(ClientError) as no_version:
        eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-x", SolutionStackName=STACK,
                              VersionLabel="nope-version")
    assert no_version.value.response["Error"]["Message"] == "No Application Version named 'nope-version' found."
    with pytest.raises(ClientError, match="No Application named 'nope-app' found."):
        eb.create_application_version(ApplicationName="nope-app", VersionLabel="v1",
                                      SourceBundle={"S3Bucket": "b", "S3Key": "k"})
    started = time.monotonic()
    with pytest.raises(ClientError) as missing:
        eb.rebuild_environment(EnvironmentName="nope-env")
    assert missing.value.response["Error"]["Code"] == "InvalidAction"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert time.monotonic() - started < 2  # answered, not retried


def test_terminate(eb: Any, app: str) -> None:
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-tmp", SolutionStackName=STACK)
    wait_ready(eb, f"{app}-tmp")
    assert eb.terminate_environment(EnvironmentName=f"{app}-tmp")["Status"] == "Terminating"
    wait_until(lambda: "terminateEnvironment completed successfully." in messages(eb, app, f"{app}-tmp"), 10,
               f"{app}-tmp terminated")
    assert eb.describe_environments(EnvironmentNames=[f"{app}-tmp"], IncludeDeleted=False)["Environments"] == []
    terminated = eb.describe_environments(EnvironmentNames=[f"{app}-tmp"])["Environments"]
    assert [e["Status"] for e in terminated] == ["Terminated"]  # still listed, as EB does for a while
    assert eb.check_dns_availability(CNAMEPrefix=f"{app}-tmp")["Available"]  # its name is free again


def test_configuration_settings_and_validation(eb: Any, app: str) -> None:
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-cfg", SolutionStackName=STACK,
                          OptionSettings=[{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"}])
    settings = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=f"{app}-cfg")
    options = settings["ConfigurationSettings"][0]["OptionSettings"]
    assert {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"} in options
    result = eb.validate_configuration_settings(ApplicationName=app, EnvironmentName=f"{app}-cfg", OptionSettings=[
        {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSzie", "Value": "2"},
        {"Namespace": "aws:autoscaling:asg", "OptionName": "MaxSize", "Value": "0"},
        {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "1"},
    ])["Messages"]
    assert [(m["OptionName"], m["Severity"]) for m in result] == [("MinSzie", "error"), ("MaxSize", "error")]


def test_application_versions_are_limited_per_region(
        eb: Any, cloud: LocalCloud, app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = len(eb.describe_application_versions()["ApplicationVersions"]) + 1
    monkeypatch.setattr(LocalEBBackend, "max_application_versions", limit)  # EB's is 1,000
    version(eb, cloud, app, "last")
    with pytest.raises(eb.exceptions.TooManyApplicationVersionsException) as refused:
        version(eb, cloud, app, "one-too-many")
    assert refused.value.response["Error"]["Message"] == (
        f"You cannot have more than {limit} Application Versions. Either remove some Application Versions or "
        "request a limit increase.")
    eb.delete_application_version(ApplicationName=app, VersionLabel="last")
    version(eb, cloud, app, "one-too-many")
