"""The emulated Elastic Beanstalk, through boto3: shapes, states, events and AWS's errors."""
from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from eb_tools.aws import wait_until
from eb_tools.cloud.elasticbeanstalk import instance_logs
from eb_tools.cloud.elasticbeanstalk.log_streaming import LogStreamer
from eb_tools.cloud.server import LocalCloud
from tests.conftest import EbSeconds, aws_client

STACK = "64bit Amazon Linux 2023 v4.6.0 running Python 3.11"
WORKER = {"Name": "Worker", "Type": "SQS/HTTP"}
ABORTED = ("During an aborted deployment, some instances may have deployed the new application version. To ensure "
           "all instances are running the same version, re-deploy the appropriate application version.")
COMPLETE_WITH_ERRORS = ("Update environment operation is complete, but with errors. For more information, see "
                        "troubleshooting documentation.")


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


def test_deploy_events_and_cursor(eb: Any, cloud: LocalCloud, app: str, eb_seconds: EbSeconds) -> None:
    version(eb, cloud, app, "v1")
    version(eb, cloud, app, "v2")
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-web", SolutionStackName=STACK, VersionLabel="v1")
    launched = wait_ready(eb, f"{app}-web")
    eb_seconds(cloud, 1.0)  # time for the second call to find it Updating
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


def option(namespace: str, name: str, value: str) -> dict[str, str]:
    return {"Namespace": namespace, "OptionName": name, "Value": value}


def policy(name: str, batch: str | None = None, min_size: int = 2) -> list[dict[str, str]]:
    """Option settings for `min_size` instances deployed with policy `name` (`batch` instances a batch)."""
    settings = [option("aws:autoscaling:asg", "MinSize", str(min_size)),
                option("aws:elasticbeanstalk:command", "DeploymentPolicy", name)]
    if batch:
        settings += [option("aws:elasticbeanstalk:command", "BatchSizeType", "Fixed"),
                     option("aws:elasticbeanstalk:command", "BatchSize", batch)]
    return settings


def launch(eb: Any, app: str, name: str, label: str, settings: list[dict[str, str]] | None = None,
           **extra: Any) -> dict[str, Any]:
    eb.create_environment(ApplicationName=app, EnvironmentName=name, SolutionStackName=STACK, VersionLabel=label,
                          OptionSettings=settings or [], **extra)
    return wait_ready(eb, name)


def deploy(eb: Any, name: str, label: str) -> str:
    """Start deploying `label`; the update's request id, which its events carry."""
    return str(eb.update_environment(EnvironmentName=name, VersionLabel=label)["ResponseMetadata"]["RequestId"])


def running(eb: Any, name: str) -> dict[str, tuple[str, str]]:
    """{instance id: (the version label it runs, its health)}, as DescribeInstancesHealth reports them."""
    listed = eb.describe_instances_health(EnvironmentName=name, AttributeNames=["All"])["InstanceHealthList"]
    return {i["InstanceId"]: (i.get("Deployment", {}).get("VersionLabel", ""), i["HealthStatus"]) for i in listed}


def health(eb: Any, name: str) -> dict[str, Any]:
    return dict(eb.describe_environment_health(EnvironmentName=name, AttributeNames=["All"]))


def errors_of(eb: Any, app: str, request_id: str) -> list[str]:
    """The ERROR events of one request, oldest first."""
    return messages(eb, app, RequestId=request_id, Severity="ERROR")


def holds(check: Callable[[], bool], seconds: float, what: str) -> None:
    """`check` is true at every poll for `seconds`: nothing changes by itself."""
    deadline = time.monotonic() + seconds

    def still() -> bool:
        assert check(), what
        return time.monotonic() >= deadline

    wait_until(still, seconds + 10, what)


def test_a_failed_rolling_deployment_leaves_the_instances_mixed_until_a_good_label_is_deployed(
        eb: Any, cloud: LocalCloud, app: str) -> None:
    version(eb, cloud, app, "good")
    version(eb, cloud, app, "bad", description="[local:fail] broken build")
    name = f"{app}-web"
    launch(eb, app, name, "good", policy("Rolling", batch="1"))
    before = running(eb, name)
    assert sorted(before.values()) == [("good", "Ok"), ("good", "Ok")]
    resources = eb.describe_environment_resources(EnvironmentName=name)["EnvironmentResources"]
    assert sorted(i["Id"] for i in resources["Instances"]) == sorted(before)
    bare = eb.describe_instances_health(EnvironmentName=name)["InstanceHealthList"]
    assert [set(i) for i in bare] == [{"InstanceId"}, {"InstanceId"}]  # no AttributeNames: the ids alone

    failed = deploy(eb, name, "bad")
    env = wait_ready(eb, name)
    assert (env["VersionLabel"], env["Health"], env["HealthStatus"]) == ("good", "Red", "Degraded")
    after = running(eb, name)
    assert set(after) == set(before)  # deployed in place: the same instances
    assert sorted(after.values()) == [("bad", "Severe"), ("good", "Ok")]  # batch 1 failed, batch 2 never ran
    bad_id = next(i for i, (label, _) in after.items() if label == "bad")
    cause = 'Incorrect application version found on 1 out of 2 instances. Expected version "good" (deployment 1).'
    report = health(eb, name)
    assert (report["HealthStatus"], report["Color"], report["Causes"]) == ("Degraded", "Red", [cause])
    assert (report["InstancesHealth"]["Ok"], report["InstancesHealth"]["Severe"]) == (1, 1)
    instance = next(i for i in eb.describe_instances_health(EnvironmentName=name, AttributeNames=["All"])[
        "InstanceHealthList"] if i["InstanceId"] == bad_id)
    assert instance["Color"] == "Red" and instance["Deployment"]["Status"] == "Failed"
    assert instance["Causes"] == ['Incorrect application version "bad" (deployment 2). '
                                  'Expected version "good" (deployment 1).']
    assert f"Batch 1: Starting application deployment on instance(s) [{bad_id}]." in messages(
        eb, app, RequestId=failed)
    assert errors_of(eb, app, failed) == [
        f"Instance id(s) '{bad_id}' did not pass health check after command execution. Aborting the operation.",
        "Failed to deploy application.", ABORTED, COMPLETE_WITH_ERRORS]
    assert f"Environment health has transitioned from Ok to Degraded. {cause}" in messages(eb, app, name)

    def unchanged() -> bool:
        env = eb.describe_environments(EnvironmentNames=[name], IncludeDeleted=False)["Environments"][0]
        return (env["Status"], env["HealthStatus"], env["VersionLabel"]) == ("Ready", "Degraded", "good") \
            and running(eb, name) == after

    holds(unchanged, 6 * cloud.eb_transition_seconds, "the failed deployment's mix, unhealed")

    repaired = deploy(eb, name, "good")  # the label the environment already names, to every instance again
    env = wait_ready(eb, name)
    assert (env["VersionLabel"], env["Health"], env["HealthStatus"]) == ("good", "Green", "Ok")
    assert running(eb, name) == {instance: ("good", "Ok") for instance in before}
    assert health(eb, name)["Causes"] == [] and errors_of(eb, app, repaired) == []
    assert "Environment update completed successfully." in messages(eb, app, RequestId=repaired)
    assert "Environment health has transitioned from Degraded to Ok." in messages(eb, app, name)
    deployments = eb.describe_instances_health(EnvironmentName=name, AttributeNames=["Deployment"])
    assert {i["Deployment"]["DeploymentId"] for i in deployments["InstanceHealthList"]} == {3}


def test_a_failed_all_at_once_deployment_puts_every_instance_on_the_new_version(
        eb: Any, cloud: LocalCloud, app: str) -> None:
    rolling = ("option_settings:\n  aws:autoscaling:asg:\n    MinSize: 3\n  aws:elasticbeanstalk:command:\n"
               "    DeploymentPolicy: Rolling\n    BatchSizeType: Fixed\n    BatchSize: 1\n")
    version(eb, cloud, app, "good", bundle(**{".ebextensions__01_rolling_config": rolling}))
    version(eb, cloud, app, "bad", description="[local:fail]")
    name = f"{app}-web"
    # Settings applied to the environment win over the running version's .ebextensions.
    launch(eb, app, name, "good", policy("AllAtOnce"))
    failed = deploy(eb, name, "bad")
    env = wait_ready(eb, name)
    assert (env["VersionLabel"], env["Health"], env["HealthStatus"]) == ("good", "Red", "Severe")
    assert sorted(running(eb, name).values()) == [("bad", "Severe"), ("bad", "Severe")]
    assert health(eb, name)["Causes"] == [
        'Incorrect application version found on all instances. Expected version "good" (deployment 1).']
    assert errors_of(eb, app, failed)[1:] == ["Failed to deploy application.", ABORTED, COMPLETE_WITH_ERRORS]


def test_rolling_with_an_additional_batch_launches_it_first_and_returns_to_the_environments_size(
        eb: Any, cloud: LocalCloud, app: str) -> None:
    extra = ("option_settings:\n  aws:autoscaling:asg:\n    MinSize: 2\n  aws:elasticbeanstalk:command:\n"
             "    DeploymentPolicy: RollingWithAdditionalBatch\n    BatchSizeType: Fixed\n    BatchSize: 1\n")
    version(eb, cloud, app, "v1", bundle(**{".ebextensions__02_deploy_config": extra}))
    version(eb, cloud, app, "v2", bundle(**{".ebextensions__02_deploy_config": extra}))
    version(eb, cloud, app, "bad", bundle(**{".ebextensions__02_deploy_config": extra}), description="[local:fail]")
    name = f"{app}-web"
    launch(eb, app, name, "v1")  # size and policy from the version's .ebextensions
    before = running(eb, name)
    assert len(before) == 2
    request = deploy(eb, name, "v2")
    assert wait_ready(eb, name)["VersionLabel"] == "v2"
    assert running(eb, name) == {instance: ("v2", "Ok") for instance in before}  # the additional batch is gone
    events = messages(eb, app, RequestId=request)
    added = [m.split("[")[1].split("]")[0] for m in events if m.startswith("Added instance")]
    removed = [m.split("[")[1].split("]")[0] for m in events if m.startswith("Removed instance")]
    assert len(added) == 1 and added == removed and added[0] not in before
    assert sum(m.endswith("Completed application deployment.") for m in events) == 3  # the new batch, then 2

    # The additional batch fails its health checks: it stays, on the new version, and the environment gives
    # the extra capacity back by terminating an instance the deployment did not reach.
    failed = deploy(eb, name, "bad")
    env = wait_ready(eb, name)
    assert (env["VersionLabel"], env["HealthStatus"]) == ("v2", "Degraded")
    after = running(eb, name)
    assert sorted(after.values()) == [("bad", "Severe"), ("v2", "Ok")]
    assert len(set(after) & set(before)) == 1  # one original left, beside the failed additional batch
    assert health(eb, name)["Causes"] == [
        'Incorrect application version found on 1 out of 2 instances. Expected version "v2" (deployment 2).']
    assert any(m.startswith("Removed instance [") for m in messages(eb, app, RequestId=failed))


def test_an_immutable_deployment_replaces_the_instances_or_leaves_them_untouched(
        eb: Any, cloud: LocalCloud, app: str) -> None:
    version(eb, cloud, app, "v1")
    version(eb, cloud, app, "bad", description="[local:fail] broken")
    version(eb, cloud, app, "v2")
    name = f"{app}-web"
    launch(eb, app, name, "v1", policy("Immutable"))
    before = running(eb, name)
    failed = deploy(eb, name, "bad")
    env = wait_ready(eb, name)
    assert (env["VersionLabel"], env["Health"], env["HealthStatus"]) == ("v1", "Green", "Ok")
    assert running(eb, name) == before  # the new instances were terminated, the originals untouched
    assert health(eb, name)["Causes"] == []
    errors = errors_of(eb, app, failed)
    assert errors[0].startswith("Instance id(s) '") and errors[0].endswith("Aborting the operation.")
    assert errors[1:] == ["Failed to deploy application.", COMPLETE_WITH_ERRORS]

    succeeded = deploy(eb, name, "v2")
    assert wait_ready(eb, name)["VersionLabel"] == "v2"
    replaced = running(eb, name)
    assert not set(replaced) & set(before) and sorted(replaced.values()) == [("v2", "Ok"), ("v2", "Ok")]
    events = messages(eb, app, RequestId=succeeded)
    assert "Immutable deployment policy enabled. Launching one instance with the new settings to verify " \
           "health." in events
    assert events[-1] == "Environment update completed successfully." and errors_of(eb, app, succeeded) == []


def test_a_tier_token_fails_the_deployment_in_that_tier_only(eb: Any, cloud: LocalCloud, app: str) -> None:
    version(eb, cloud, app, "v1")
    version(eb, cloud, app, "v2", description="[local:fail:worker] the worker cannot start")
    web, worker = f"{app}-web", f"{app}-wrk"
    launch(eb, app, web, "v1")
    launch(eb, app, worker, "v1", Tier=WORKER)
    deploy(eb, web, "v2")
    deploy(eb, worker, "v2")
    assert (wait_ready(eb, web)["VersionLabel"], wait_ready(eb, web)["Health"]) == ("v2", "Green")
    worker_env = wait_ready(eb, worker)
    assert (worker_env["VersionLabel"], worker_env["Health"]) == ("v1", "Red")


def test_an_environment_tag_fails_its_deployments_or_its_configuration_updates(
        eb: Any, cloud: LocalCloud, app: str) -> None:
    for label in ("v1", "v2", "v3"):
        version(eb, cloud, app, label)
    name = f"{app}-web"
    arn = launch(eb, app, name, "v1")["EnvironmentArn"]

    def tag(value: str) -> None:
        eb.update_tags_for_resource(ResourceArn=arn, TagsToAdd=[{"Key": "eb-local:fail", "Value": value}])

    def outcome(label: str) -> tuple[str, str, list[str]]:
        """Deploy `label`: the version the environment then names, its health, and the update's errors."""
        request = deploy(eb, name, label)
        env = wait_ready(eb, name)
        return env["VersionLabel"], env["Health"], errors_of(eb, app, request)

    tag("deploy")  # every version deployment fails
    label, color, errors = outcome("v2")
    assert (label, color, errors[-1]) == ("v1", "Red", COMPLETE_WITH_ERRORS)
    tag("v3")  # only that label fails
    assert outcome("v2") == ("v2", "Green", [])
    label, color, errors = outcome("v3")
    assert (label, color, errors[-1]) == ("v2", "Red", COMPLETE_WITH_ERRORS)

    tag("configuration")  # configuration-only updates fail and roll back; deployments go through
    before = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=name)["ConfigurationSettings"]
    request = eb.update_environment(EnvironmentName=name, OptionSettings=[
        option("aws:elasticbeanstalk:application:environment", "FEATURE", "on")])["ResponseMetadata"]["RequestId"]
    assert wait_ready(eb, name)["Status"] == "Ready"
    events = messages(eb, app, RequestId=request)
    assert events.index("Failed to deploy configuration.") < events.index(
        "The environment was reverted to the previous configuration setting.") < events.index(COMPLETE_WITH_ERRORS)
    after = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=name)["ConfigurationSettings"]
    assert after[0]["OptionSettings"] == before[0]["OptionSettings"]
    assert outcome("v2") == ("v2", "Green", [])


def test_abort_stops_a_rolling_deployment_between_batches(
        eb: Any, cloud: LocalCloud, app: str, eb_seconds: EbSeconds) -> None:
    version(eb, cloud, app, "v1")
    version(eb, cloud, app, "v2")
    name = f"{app}-web"
    launch(eb, app, name, "v1", policy("Rolling", batch="1", min_size=3))
    eb_seconds(cloud, 1.0)  # time to abort between batches
    request = deploy(eb, name, "v2")
    assert eb.describe_environments(EnvironmentNames=[name])["Environments"][0]["AbortableOperationInProgress"]
    wait_until(lambda: "Batch 1: Completed application deployment." in messages(eb, app, RequestId=request), 10,
               "batch 1 deployed")
    eb.abort_environment_update(EnvironmentName=name)
    aborting = eb.describe_environments(EnvironmentNames=[name])["Environments"][0]
    assert (aborting["Status"], aborting["AbortableOperationInProgress"]) == ("Updating", False)
    env = wait_ready(eb, name)
    assert (env["VersionLabel"], env["Health"], env["HealthStatus"]) == ("v1", "Red", "Degraded")
    assert not env["AbortableOperationInProgress"]
    assert sorted(label for label, _ in running(eb, name).values()) == ["v1", "v1", "v2"]
    assert health(eb, name)["Causes"] == [
        'Incorrect application version found on 1 out of 3 instances. Expected version "v1" (deployment 1).']
    assert errors_of(eb, app, request) == [ABORTED, COMPLETE_WITH_ERRORS]
    with pytest.raises(ClientError, match="invalid state for this operation. Must be pending deployment."):
        eb.abort_environment_update(EnvironmentName=name)


def test_abort_of_an_immutable_deployment_terminates_its_new_instances(
        eb: Any, cloud: LocalCloud, app: str, eb_seconds: EbSeconds) -> None:
    version(eb, cloud, app, "v1")
    version(eb, cloud, app, "v2")
    name = f"{app}-web"
    launch(eb, app, name, "v1", policy("Immutable"))
    before = running(eb, name)
    eb_seconds(cloud, 1.0)
    request = deploy(eb, name, "v2")
    eb.abort_environment_update(EnvironmentName=name)
    env = wait_ready(eb, name)
    assert (env["VersionLabel"], env["Health"], env["HealthStatus"]) == ("v1", "Green", "Ok")
    assert running(eb, name) == before
    assert errors_of(eb, app, request) == [COMPLETE_WITH_ERRORS]


def test_update_and_swap_need_a_ready_environment(
        eb: Any, cloud: LocalCloud, app: str, eb_seconds: EbSeconds) -> None:
    version(eb, cloud, app, "v1")
    blue, green = f"{app}-blue", f"{app}-green"
    for name in (blue, green):
        launch(eb, app, name, "v1", CNAMEPrefix=name)
    eb_seconds(cloud, 1.0)
    deploy(eb, blue, "v1")
    calls = (lambda: eb.update_environment(EnvironmentName=blue, VersionLabel="v1"),
             lambda: eb.swap_environment_cnames(SourceEnvironmentName=green, DestinationEnvironmentName=blue))
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"] == {
            "Type": "Sender", "Code": "InvalidParameterValue",
            "Message": f"Environment named {blue} is in an invalid state for this operation. Must be Ready."}
    wait_ready(eb, blue)
    eb.swap_environment_cnames(SourceEnvironmentName=green, DestinationEnvironmentName=blue)


def test_application_versions_are_limited_per_region(
        eb: Any, cloud: LocalCloud, app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = len(eb.describe_application_versions()["ApplicationVersions"]) + 1
    monkeypatch.setattr(cloud.eb_settings, "max_application_versions", limit)  # EB's is 1,000
    version(eb, cloud, app, "last")
    with pytest.raises(eb.exceptions.TooManyApplicationVersionsException) as refused:
        version(eb, cloud, app, "one-too-many")
    assert refused.value.response["Error"]["Message"] == (
        f"You cannot have more than {limit} Application Versions. Either remove some Application Versions or "
        "request a limit increase.")
    eb.delete_application_version(ApplicationName=app, VersionLabel="last")
    version(eb, cloud, app, "one-too-many")


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


def test_option_settings_in_every_form_eb_documents_deploy(eb: Any, cloud: LocalCloud, app: str) -> None:
    """EB's guide: a list item without a namespace is an environment property, and a resource name may prefix a
    namespace (`Name.aws:autoscaling:scheduledaction`); EB deploys both."""
    forms = ("option_settings:\n"
             "  - option_name: GREETING\n    value: hello\n"
             "  - namespace: aws:autoscaling:scheduledaction\n    resource_name: ScaleDownAtNight\n"
             "    option_name: MinSize\n    value: 1\n")
    shorthand = "option_settings:\n  ScaleUp.aws:autoscaling:scheduledaction:\n    MinSize: 2\n"
    version(eb, cloud, app, "forms", bundle(**{".ebextensions__01_list_config": forms,
                                                ".ebextensions__02_short_config": shorthand}))
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-web", SolutionStackName=STACK,
                          VersionLabel="forms")
    assert wait_ready(eb, f"{app}-web")["Health"] == "Green", messages(eb, app, f"{app}-web")
    settings = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=f"{app}-web")[
        "ConfigurationSettings"][0]["OptionSettings"]
    assert {"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "GREETING",
            "Value": "hello"} in [{k: s[k] for k in ("Namespace", "OptionName", "Value") if k in s} for s in settings]


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
    with pytest.raises(ClientError, match="No Environment found for EnvironmentName = 'nope-env'."):
        eb.rebuild_environment(EnvironmentName="nope-env")
    started = time.monotonic()
    with pytest.raises(ClientError) as missing:
        eb.compose_environments(ApplicationName=app, VersionLabels=["v1"])
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


def option_values(eb: Any, app: str, env: str) -> dict[tuple[str, str], str | None]:
    settings = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=env)["ConfigurationSettings"]
    return {(o["Namespace"], o["OptionName"]): o.get("Value") for o in settings[0]["OptionSettings"]}


def test_configuration_settings_list_every_option_of_the_environments_kind(
        eb: Any, cloud: LocalCloud, app: str) -> None:
    """EB answers every option with its effective value, defaults included (the eb CLI reads, e.g.,
    LoadBalancerIsShared of an ALB environment on `eb terminate`): load-balancer options only where there is
    one of that type, sqsd options only in a worker; the running version's .ebextensions over the defaults,
    applied settings over both."""
    version(eb, cloud, app, "v1", bundle(**{".ebextensions__a_config": "option_settings:\n  aws:autoscaling:asg:\n"
                                                                      "    MaxSize: 6\n    Cooldown: 100\n"}))
    alb = [{"Namespace": "aws:elasticbeanstalk:environment", "OptionName": "LoadBalancerType", "Value": "application"},
           {"Namespace": "aws:autoscaling:asg", "OptionName": "Cooldown", "Value": "200"}]
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-alb", SolutionStackName=STACK,
                          VersionLabel="v1", OptionSettings=alb)
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-clb", SolutionStackName=STACK)
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-one", SolutionStackName=STACK, OptionSettings=[
        {"Namespace": "aws:elasticbeanstalk:environment", "OptionName": "EnvironmentType", "Value": "SingleInstance"}])
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-wrk", SolutionStackName=STACK, Tier=WORKER)
    described = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=f"{app}-alb")
    assert described["ConfigurationSettings"][0]["OptionSettings"] == sorted(
        described["ConfigurationSettings"][0]["OptionSettings"], key=lambda o: (o["Namespace"], o["OptionName"]))
    alb_options = option_values(eb, app, f"{app}-alb")
    assert alb_options[("aws:elasticbeanstalk:environment", "LoadBalancerIsShared")] == "false"
    assert alb_options[("aws:elbv2:listener:default", "Protocol")] == "HTTP"
    assert alb_options[("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath")] == "/"
    assert (alb_options[("aws:autoscaling:asg", "MinSize")], alb_options[("aws:autoscaling:asg", "MaxSize")],
            alb_options[("aws:autoscaling:asg", "Cooldown")]) == ("1", "6", "200")
    assert alb_options[("aws:autoscaling:launchconfiguration", "EC2KeyName")] is None  # listed without a value
    assert not any(n.startswith(("aws:elb:", "aws:elasticbeanstalk:sqsd")) for n, _ in alb_options)
    classic = option_values(eb, app, f"{app}-clb")
    assert classic[("aws:elasticbeanstalk:environment", "LoadBalancerType")] == "classic"
    assert classic[("aws:elb:loadbalancer", "LoadBalancerHTTPPort")] == "80"
    assert ("aws:elasticbeanstalk:environment", "LoadBalancerIsShared") not in classic
    assert not any(n.startswith(("aws:elbv2:", "aws:elasticbeanstalk:environment:process")) for n, _ in classic)
    single = option_values(eb, app, f"{app}-one")
    assert not any(n.startswith(("aws:elb", "aws:elasticbeanstalk:environment:process")) for n, _ in single)
    worker = option_values(eb, app, f"{app}-wrk")
    assert worker[("aws:elasticbeanstalk:sqsd", "HttpPath")] == "/"
    assert worker[("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")].endswith("AWSEBWorkerQueue")
    assert not any(n.startswith("aws:elb") for n, _ in worker) and "sqsd" not in str(classic)
    # What EB lists, it takes back: the whole configuration validates in its own tier.
    for env in (f"{app}-alb", f"{app}-wrk"):
        listed = [{"Namespace": n, "OptionName": o, "Value": v} for (n, o), v in option_values(eb, app, env).items()
                  if v is not None]
        assert eb.validate_configuration_settings(ApplicationName=app, EnvironmentName=env,
                                                  OptionSettings=listed)["Messages"] == []
    wait_ready(eb, f"{app}-alb")
    options = eb.describe_configuration_options(ApplicationName=app, EnvironmentName=f"{app}-alb", Options=[
        {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize"}])["Options"]
    assert [(o["Name"], o["DefaultValue"], o["MinValue"]) for o in options] == [("MinSize", "1", 1)]
    worker_options = eb.describe_configuration_options(ApplicationName=app, EnvironmentName=f"{app}-wrk")["Options"]
    assert "aws:elasticbeanstalk:sqsd" in {o["Namespace"] for o in worker_options}
    web_options = eb.describe_configuration_options(SolutionStackName=STACK)["Options"]
    assert "aws:elasticbeanstalk:sqsd" not in {o["Namespace"] for o in web_options}


def test_saved_configurations(eb: Any, cloud: LocalCloud, app: str) -> None:
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-src", SolutionStackName=STACK, Tier=WORKER,
                          OptionSettings=[{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"}])
    wait_ready(eb, f"{app}-src")
    saved = eb.create_configuration_template(ApplicationName=app, TemplateName="base", Description="from src",
                                             SourceConfiguration={}, EnvironmentId=wait_ready(eb, f"{app}-src")[
                                                 "EnvironmentId"])
    assert (saved["TemplateName"], saved["Description"]) == ("base", "from src")
    assert {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"} in saved["OptionSettings"]
    assert eb.describe_applications(ApplicationNames=[app])["Applications"][0]["ConfigurationTemplates"] == ["base"]
    with pytest.raises(ClientError, match="Configuration Template base already exists."):
        eb.create_configuration_template(ApplicationName=app, TemplateName="base", SolutionStackName=STACK)
    # EB keeps the file in its storage bucket, where `eb config save` downloads it from.
    bucket = eb.create_storage_location()["S3Bucket"]
    document = aws_client(cloud, "s3").get_object(Bucket=bucket, Key=f"resources/templates/{app}/base")["Body"].read()
    assert b"AWSConfigurationTemplateVersion: 1.1.0.0" in document and b"MinSize: '2'" in document
    eb.update_configuration_template(ApplicationName=app, TemplateName="base", OptionSettings=[
        {"Namespace": "aws:autoscaling:asg", "OptionName": "MaxSize", "Value": "3"}])
    env = eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-dst", TemplateName="base")
    assert env["Tier"]["Name"] == "Worker" and env["SolutionStackName"] == STACK
    wait_ready(eb, f"{app}-dst")
    copied = option_values(eb, app, f"{app}-dst")
    assert (copied[("aws:autoscaling:asg", "MinSize")], copied[("aws:autoscaling:asg", "MaxSize")]) == ("2", "3")
    assert len(eb.describe_environment_resources(EnvironmentName=f"{app}-dst")["EnvironmentResources"][
        "Instances"]) == 2  # the per-instance model follows MinSize
    # A file uploaded there (`eb config put`) is a template EB applies.
    aws_client(cloud, "s3").put_object(Bucket=bucket, Key=f"resources/templates/{app}/put", Body=(
        "AWSConfigurationTemplateVersion: 1.1.0.0\nPlatform:\n  SolutionStackName: " + STACK + "\n"
        "OptionSettings:\n  aws:autoscaling:asg:\n    MinSize: 3\n").encode())
    put = eb.describe_configuration_settings(ApplicationName=app, TemplateName="put")["ConfigurationSettings"][0]
    assert put["OptionSettings"] == [{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "3"}]
    with pytest.raises(ClientError, match=f"No Configuration Template named '{app}/nope' found."):
        eb.describe_configuration_settings(ApplicationName=app, TemplateName="nope")
    with pytest.raises(ClientError, match=f"No Configuration Template named '{app}/nope' found."):
        eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-bad", TemplateName="nope")
    with pytest.raises(ClientError, match="Unknown configuration setting"):
        eb.create_configuration_template(ApplicationName=app, TemplateName="typo", SolutionStackName=STACK,
                                         OptionSettings=[{"Namespace": "aws:autoscaling:asg",
                                                          "OptionName": "MinSzie", "Value": "1"}])
    eb.delete_configuration_template(ApplicationName=app, TemplateName="base")
    assert eb.describe_applications(ApplicationNames=[app])["Applications"][0]["ConfigurationTemplates"] == ["put"]
    with pytest.raises(ClientError, match=f"No Configuration Template named '{app}/base' found."):
        eb.delete_configuration_template(ApplicationName=app, TemplateName="base")


def test_environment_info_is_uploaded_per_instance_and_linked(eb: Any, cloud: LocalCloud, app: str,
                                                             tmp_path: Any) -> None:
    """RequestEnvironmentInfo: each instance uploads its logs (a published file is the first instance's),
    events say so, and RetrieveEnvironmentInfo links each upload with a presigned URL."""
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-log", SolutionStackName=STACK, OptionSettings=[
        {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"}])
    wait_ready(eb, f"{app}-log")
    stdout = tmp_path / "web.log"
    stdout.write_text("".join(f"line {n}\n" for n in range(150)))
    cloud.publish_instance_logs(f"{app}-log", {"/var/log/web.stdout.log": stdout}, "us-east-1")
    assert eb.retrieve_environment_info(EnvironmentName=f"{app}-log", InfoType="tail")["EnvironmentInfo"] == []
    eb.request_environment_info(EnvironmentName=f"{app}-log", InfoType="tail")
    wait_until(lambda: "Pulled logs for environment instances." in messages(eb, app, f"{app}-log"), 10, "logs")
    assert any(m.endswith("Successfully finished tailing 4 log(s)") for m in messages(eb, app, f"{app}-log"))
    info = eb.retrieve_environment_info(EnvironmentName=f"{app}-log", InfoType="tail")["EnvironmentInfo"]
    assert len(info) == 2 and {i["InfoType"] for i in info} == {"tail"} and all(i["SampleTimestamp"] for i in info)
    first, second = (requests.get(i["Message"], timeout=5).text for i in info)
    assert "/var/log/web.stdout.log" in first and "line 149" in first and "line 49\n" not in first  # the last 100
    assert "/var/log/web.stdout.log" in second and "line" not in second  # the platform's files, empty
    eb.request_environment_info(EnvironmentName=f"{app}-log", InfoType="bundle")
    wait_until(lambda: eb.retrieve_environment_info(EnvironmentName=f"{app}-log", InfoType="bundle")[
        "EnvironmentInfo"], 10, "bundle")
    link = eb.retrieve_environment_info(EnvironmentName=f"{app}-log", InfoType="bundle")["EnvironmentInfo"][0]
    archive = zipfile.ZipFile(io.BytesIO(requests.get(link["Message"], timeout=5).content))
    assert archive.read("var/log/web.stdout.log").decode().count("line") == 150
    with pytest.raises(ClientError, match="InfoType"):
        eb.request_environment_info(EnvironmentName=f"{app}-log", InfoType="everything")


def test_rebuild_restores_a_terminated_environment(eb: Any, cloud: LocalCloud, app: str) -> None:
    version(eb, cloud, app, "v1")
    env_id = eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-gone", SolutionStackName=STACK,
                                   CNAMEPrefix=f"{app}-gone", VersionLabel="v1")["EnvironmentId"]
    wait_ready(eb, f"{app}-gone")
    eb.terminate_environment(EnvironmentName=f"{app}-gone")
    wait_until(lambda: eb.describe_environments(EnvironmentIds=[env_id])["Environments"][0]["Status"] ==
               "Terminated", 10, "terminated")
    eb.rebuild_environment(EnvironmentId=env_id)
    restored = wait_ready(eb, f"{app}-gone")
    assert (restored["EnvironmentId"], restored["VersionLabel"], restored["CNAME"]) == (
        env_id, "v1", f"{app}-gone.us-east-1.elasticbeanstalk.com")
    assert "restoreEnvironment is starting." in messages(eb, app, f"{app}-gone")
    assert messages(eb, app, f"{app}-gone")[-2] == f"Successfully launched environment: {app}-gone"


def test_published_logs_stream_to_cloudwatch_while_stream_logs_is_on(eb: Any, cloud: LocalCloud, app: str,
                                                                     tmp_path: Any) -> None:
    """As EB's instances do with StreamLogs true: a group per log file under /aws/elasticbeanstalk/ENV, a stream
    per instance named by its id, the environment's retention; nothing while StreamLogs is false (the default)."""
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-cw", SolutionStackName=STACK, Tier=WORKER)
    wait_ready(eb, f"{app}-cw")
    sqsd_log = tmp_path / "sqsd.log"
    sqsd_log.write_text("one\ntwo\nhalf a line")
    instance = eb.describe_environment_resources(EnvironmentName=f"{app}-cw")["EnvironmentResources"]["Instances"][0]
    files = {instance["Id"]: {"/var/log/aws-sqsd/default.log": sqsd_log}}
    streamer = LogStreamer(cloud.url)  # not started: each ship() below is one round of the agent
    assert streamer.ship(f"{app}-cw", "us-east-1", files) == 0
    eb.update_environment(EnvironmentName=f"{app}-cw", OptionSettings=[
        {"Namespace": "aws:elasticbeanstalk:cloudwatch:logs", "OptionName": "StreamLogs", "Value": "true"},
        {"Namespace": "aws:elasticbeanstalk:cloudwatch:logs", "OptionName": "RetentionInDays", "Value": "30"}])
    wait_until(lambda: option_values(eb, app, f"{app}-cw")[("aws:elasticbeanstalk:cloudwatch:logs",
                                                            "StreamLogs")] == "true", 10, "StreamLogs on")
    assert streamer.ship(f"{app}-cw", "us-east-1", files) == 2
    with sqsd_log.open("a") as more:
        more.write(" finished\n")
    assert streamer.ship(f"{app}-cw", "us-east-1", files) == 1
    logs = aws_client(cloud, "logs")
    group = f"/aws/elasticbeanstalk/{app}-cw/var/log/aws-sqsd/default.log"
    events = logs.get_log_events(logGroupName=group, logStreamName=instance["Id"])["events"]
    assert [e["message"] for e in events] == ["one", "two", "half a line finished"]
    described = logs.describe_log_groups(logGroupNamePrefix=f"/aws/elasticbeanstalk/{app}-cw/")["logGroups"]
    assert {g["logGroupName"].split(f"{app}-cw")[1] for g in described} == set(instance_logs.PLATFORM_FILES["Worker"])
    assert {g.get("retentionInDays") for g in described} == {30}


def test_option_settings_that_are_not_a_map_fail_the_deployment(eb: Any, cloud: LocalCloud, app: str) -> None:
    """A namespace of .ebextensions option_settings holding a value instead of options: EB refuses the bundle, an
    ERROR event naming the configuration file ("Each option setting in configuration file ... must be a map",
    awsdocs/aws-elastic-beanstalk-developer-guide#93), and the environment keeps the version it runs."""
    oops = "option_settings:\n  aws:elasticbeanstalk:application:environment: oops\n"
    version(eb, cloud, app, "good")
    version(eb, cloud, app, "oops", bundle(**{".ebextensions__03_oops_config": oops}))
    name = f"{app}-web"
    launch(eb, app, name, "good")
    failed = deploy(eb, name, "oops")
    env = wait_ready(eb, name)
    assert env["VersionLabel"] == "good"
    refusal, *rest = errors_of(eb, app, failed)
    assert rest == ["Failed to deploy application.", COMPLETE_WITH_ERRORS]
    # EB's own words, not CloudFormation's: no "Service:AmazonCloudFormation" prefix (developer guide issue #126)
    assert refusal == ("Each option setting in configuration file .ebextensions/03_oops.config in application "
                       "version oops must be a map. Update each option setting in the configuration file.")
    assert sorted(running(eb, name).values()) == [("good", "Ok")]


def _self_signed(domain: str) -> tuple[bytes, bytes]:
    """A certificate and key for `domain`, as someone imports their own into ACM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=30))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
                   .sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def https_listener(arn: str) -> list[dict[str, str]]:
    return [{"Namespace": "aws:elbv2:listener:443", "OptionName": name, "Value": value}
            for name, value in (("Protocol", "HTTPS"), ("SSLCertificateArns", arn))]


def test_an_https_listener_needs_its_certificate_in_acm(eb: Any, cloud: LocalCloud, app: str) -> None:
    """EB's stack fails on a listener whose certificate ACM does not have, at creation and at an update (rolled
    back); an imported one serves."""
    version(eb, cloud, app, "v1")
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-bad", SolutionStackName=STACK,
                          VersionLabel="v1", OptionSettings=https_listener(missing))
    assert wait_ready(eb, f"{app}-bad")["Health"] == "Red"
    events = messages(eb, app, f"{app}-bad")
    failed = next(e for e in events if e.startswith("Creating Load Balancer listener failed"))
    assert f"Certificate '{missing}' not found" in failed and "Error Code: CertificateNotFound" in failed
    assert any(e.startswith("Stack named 'awseb-e-") and "[AWSEBV2LoadBalancerListener443]" in e for e in events)
    assert events[-1].startswith("Create environment operation is complete, but with errors")

    certificate, key = _self_signed(f"{app}.example.test")
    imported = aws_client(cloud, "acm").import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-tls", SolutionStackName=STACK,
                          VersionLabel="v1", OptionSettings=https_listener(imported))
    assert wait_ready(eb, f"{app}-tls")["Health"] == "Green"
    eb.update_environment(EnvironmentName=f"{app}-tls", OptionSettings=https_listener(missing))
    wait_ready(eb, f"{app}-tls")
    assert "The environment was reverted to the previous configuration setting." in messages(eb, app, f"{app}-tls")
    kept = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=f"{app}-tls")
    arns = [o["Value"] for o in kept["ConfigurationSettings"][0]["OptionSettings"]
            if o["OptionName"] == "SSLCertificateArns"]
    assert arns == [imported]
