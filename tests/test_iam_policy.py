"""The generated policies, proven: in a local cloud that enforces IAM, an IAM user holding only the deployer
policy releases a stage (deploy, a second deploy, rollback, status, versions), one holding only the provisioner
policy provisions one; with one permission fewer, the named call is refused with AWS's AccessDenied, in one
line from eb_tools."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from eb_tools import cli
from eb_tools.aws import local_session, wait_until
from eb_tools.cloud.iam_authorization import judge
from eb_tools.cloud.server import LocalCloud
from eb_tools.iam.policy import document
from eb_tools.logs.reading import APP_LOG
from eb_tools.provision import command
from eb_tools.release.deploy import Built, deliver, prepare
from eb_tools.release.promote import promote
from eb_tools.release.rollback import rollback
from eb_tools.release.status import stage_status
from eb_tools.stage.target import StageTarget, resolve
from tests.cloud_clients import local_client
from tests.test_release import repository_copy

STAGES = """
application: iamapp
region: us-east-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  ci:
    isolation: ci
    web: {instance_type: t3.micro, min: 1, max: 1}
    worker: {instance_type: t3.micro, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@ci.iamapp.example.com}
    alarm_email: ops@example.com
  qa:
    isolation: qa
    web: {instance_type: t3.micro, min: 1, max: 1}
    worker: {instance_type: t3.micro, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@qa.iamapp.example.com}
    alarm_email: ops@example.com
  made:
    isolation: made
    web: {instance_type: t3.micro, min: 1, max: 1}
    worker: {instance_type: t3.micro, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@made.iamapp.example.com}
    alarm_email: ops@example.com
"""
ACCOUNT = "123456789012"


@dataclass
class World:
    cloud: LocalCloud
    root: Path
    stage_file: Path
    work: Path

    def user(self, name: str, role: str, stage: str, without: tuple[str, str] | None = None) -> dict[str, str]:
        """An IAM user holding only `role`'s policy for `stage` (less action without[1] in statement
        without[0]), made by the cloud's administrator; its credentials."""
        policy = document(self.stage_file, role, [stage])
        if without:
            for statement in policy["Statement"]:
                if statement["Sid"] == without[0]:
                    statement["Action"] = [a for a in statement["Action"] if a != without[1]]
        iam = local_client("iam", self.cloud.url)
        iam.create_user(UserName=name)
        arn = iam.create_policy(PolicyName=f"{name}-{role}", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    def stage(self, name: str, credentials: dict[str, str]) -> StageTarget:
        session = boto3.session.Session(aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                                        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                                        region_name="us-east-1")
        [where] = resolve(self.stage_file, [name], sessions={name: session}, endpoint_url=self.cloud.url,
                          poll_seconds=0.05)
        return where

    def build(self, marker: str) -> Built:
        (self.root / "release-marker.txt").write_text(marker)
        return prepare(self.root, self.work / "bundles", working_tree=True)

    def cli(self, credentials: dict[str, str], *args: str) -> Any:
        """eb_tools as a user holding `credentials` runs it, against this cloud."""
        env = {**credentials, "AWS_ENDPOINT_URL": self.cloud.url, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None, "EB_TOOLS_POLL_SECONDS": "0.05"}
        return CliRunner().invoke(cli.main, [*args, "--file", str(self.stage_file)], env=env)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("iam")
    (work / "eb_tools.yaml").write_text(STAGES)
    cloud = LocalCloud(eb_transition_seconds=0.05, enforce_iam=True).start()
    try:
        for name in ("ci", "qa"):
            command.provision(work / "eb_tools.yaml", name, yes=True, echo=lambda _: None, session=local_session(),
                              endpoint_url=cloud.url, poll_seconds=0.05)
        yield World(cloud, repository_copy(work), work / "eb_tools.yaml", work)
    finally:
        cloud.stop()


def test_the_deployers_release_and_promote_their_stages_and_nothing_more(world):
    credentials = world.user("ci-deployer", "deployer", "ci")
    ci = world.stage("ci", credentials)
    first, second = world.build("one"), world.build("two")
    deliver(ci, first, lambda _: None, timeout=60, smoke="")
    deliver(ci, second, lambda _: None, timeout=60, smoke="")
    assert rollback(ci, lambda _: None, timeout=60, smoke="") == first.label
    report = stage_status(ci)
    assert report["consistent"] and report["label"] == first.label, report
    listed = world.cli(credentials, "versions", "ci", "--output", "json")
    assert listed.exit_code == 0, listed.output
    [application] = json.loads(listed.output)["applications"]
    assert {first.label, second.label} <= {row["label"] for row in application["versions"]}
    _stream_logs(world, ["iamapp-ci-web", "iamapp-ci-worker"])
    logs = world.cli(credentials, "logs", "ci", "--since", "5m", "--output", "json")
    assert logs.exit_code == 0, logs.output
    # the same user may not touch another stage's environments
    with pytest.raises(Exception, match="not authorized to perform: elasticbeanstalk:UpdateEnvironment"):
        ci.client("elasticbeanstalk").update_environment(ApplicationName="iamapp", EnvironmentName="iamapp-qa-web")
    # the next stage's deployer alone promotes ci's release onto it (reading ci, changing only qa)
    qa_deployer = world.user("qa-deployer", "deployer", "qa")
    qa = world.stage("qa", qa_deployer)
    assert promote(world.stage("ci", qa_deployer), qa, lambda _: None, timeout=60, smoke="") == first.label
    assert stage_status(qa)["label"] == first.label


def _stream_logs(world: World, environments: list[str]) -> None:
    """The administrator turns on the environments' log streaming (which the deployer may read, not set), and
    their instances' groups are there (the cloud's instances here are records, which log nothing)."""
    eb, logs = local_client("elasticbeanstalk", world.cloud.url), local_client("logs", world.cloud.url)
    for name in environments:
        logs.create_log_group(logGroupName=f"/aws/elasticbeanstalk/{name}{APP_LOG}")
        eb.update_environment(ApplicationName="iamapp", EnvironmentName=name, OptionSettings=[
            {"Namespace": "aws:elasticbeanstalk:cloudwatch:logs", "OptionName": "StreamLogs", "Value": "true"}])
    wait_until(lambda: {e["Status"] for e in eb.describe_environments(
        ApplicationName="iamapp", EnvironmentNames=environments)["Environments"]} == {"Ready"}, 30, "Ready", 0.05)


@pytest.mark.parametrize(("service", "call", "code", "action", "resource"), [
    ("logs", lambda c: c.filter_log_events(logGroupName="/aws/elasticbeanstalk/iamapp-qa-web/x"),
     "AccessDeniedException", "logs:FilterLogEvents", "log-group:/aws/elasticbeanstalk/iamapp-qa-web/x:*"),
    ("sesv2", lambda c: c.get_email_identity(EmailIdentity="qa.iamapp.example.com"),
     "AccessDeniedException", "ses:GetEmailIdentity", "identity/qa.iamapp.example.com"),
    ("cloudformation", lambda c: c.describe_stacks(StackName="other-app-resources"),
     "AccessDenied", "cloudformation:DescribeStacks", "stack/other-app-resources/*"),
    ("s3", lambda c: c.get_object(Bucket=f"elasticbeanstalk-us-east-1-{ACCOUNT}", Key="other/x.zip"),
     "AccessDenied", "s3:GetObject", f"s3:::elasticbeanstalk-us-east-1-{ACCOUNT}/other/x.zip"),
])
def test_a_refusal_is_in_the_shape_of_the_service_s_protocol(world, service, call, code, action, resource):
    """JSON (CloudWatch Logs), REST-JSON (SESv2), query (CloudFormation) and S3's XML: botocore reads each."""
    ci = world.stage("ci", world.user(f"ci-{service}", "deployer", "ci"))
    with pytest.raises(ClientError) as refused:
        call(ci.client(service))
    error = refused.value.response["Error"]
    assert error["Code"] == code
    assert f"user/ci-{service} is not authorized to perform: {action} on resource: arn:aws:" in error["Message"]
    assert f"{resource} because no identity-based policy allows the {action} action" in error["Message"]


def test_a_deployer_without_one_permission_is_refused_that_call_in_one_line(world):
    credentials = world.user("ci-short", "deployer", "ci", without=("WriteTheStageRecordsCi", "s3:PutObject"))
    done = world.cli(credentials, "deploy", "ci", str(world.root), "--working-tree")
    bucket = f"elasticbeanstalk-us-east-1-{ACCOUNT}"
    assert done.exit_code == 1, done.output
    assert done.output.strip().splitlines()[-1] == (
        f"Error: stage ci: AWS refused PutObject: AccessDenied: User: arn:aws:iam::{ACCOUNT}:user/ci-short is not "
        f"authorized to perform: s3:PutObject on resource: arn:aws:s3:::{bucket}/eb_tools/iamapp/ci/release.lock "
        "because no identity-based policy allows the s3:PutObject action"), done.output


def test_the_provisioner_provisions_its_stage_and_no_other(world):
    credentials = world.user("made-provisioner", "provisioner", "made")
    done = world.cli(credentials, "provision", "made", "--yes")
    assert done.exit_code == 0, done.output
    eb = local_client("elasticbeanstalk", world.cloud.url)
    found = eb.describe_environments(ApplicationName="iamapp", EnvironmentNames=["iamapp-made-web"])
    assert [e["Status"] for e in found["Environments"]] == ["Ready"]
    other = world.cli(credentials, "provision", "ci", "--yes")
    assert other.exit_code == 1 and "not authorized to perform: cloudformation:DescribeStacks on resource: " \
        f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/iamapp-ci-network/*" in other.output, other.output


def test_a_provisioner_without_one_permission_is_refused_that_call_in_one_line(world):
    credentials = world.user("made-short", "provisioner", "made",
                             without=("ChangeTheStageStacksMade", "cloudformation:CreateChangeSet"))
    done = world.cli(credentials, "provision", "made", "--yes")
    assert done.exit_code == 1, done.output
    assert done.output.strip().splitlines() == [
        f"Error: stage made: AWS refused CreateChangeSet: AccessDenied: User: arn:aws:iam::{ACCOUNT}:user/made-short "
        f"is not authorized to perform: cloudformation:CreateChangeSet on resource: arn:aws:cloudformation:us-east-1:"
        f"{ACCOUNT}:stack/iamapp-made-network/* because no identity-based policy allows the "
        "cloudformation:CreateChangeSet action"], done.output


@pytest.mark.parametrize(("pattern", "resource", "allowed"), [
    ("arn:aws:s3:::my.bucket/eb_tools/app/c?/*", "arn:aws:s3:::my.bucket/eb_tools/app/ci/release.lock", True),
    ("arn:aws:s3:::my.bucket/eb_tools/app/c?/*", "arn:aws:s3:::my.bucket/eb_tools/app/cix/release.lock", False),
    ("arn:aws:s3:::my.bucket/*", "arn:aws:s3:::myXbucket/key", False),  # "." is no regex: literal
])
def test_resources_match_by_iam_wildcards_and_actions_by_any_case(pattern, resource, allowed):
    policy = {"Statement": [{"Effect": "Allow", "Action": "S3:putobject", "Resource": pattern}]}
    assert (judge([policy], "s3:PutObject", resource) is None) is allowed


def test_an_explicit_deny_wins():
    policies = [{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}},
                {"Statement": [{"Effect": "Deny", "Action": "s3:Delete*", "Resource": "arn:aws:s3:::b/*"}]}]
    assert judge(policies, "s3:DeleteObject", "arn:aws:s3:::b/k") == "with an explicit deny in an identity-based policy"
    assert judge(policies, "s3:GetObject", "arn:aws:s3:::b/k") is None
