"""`eb_tools provision STAGE` against the local cloud: every resource real, a second run a no-op,
data never replaced without asking, a failure rolled back and named."""
from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from eb_tools import aws, cli
from eb_tools.cloud.server import LocalCloud, free_port
from eb_tools.errors import ProvisionError
from eb_tools.names import environment_names, stage_stack_name
from eb_tools.provision import command, pipeline
from eb_tools.provision import stacks as stack_changes
from eb_tools.release import mail_status
from eb_tools.release.status import render, stage_status
from eb_tools.stage.target import resolve
from eb_tools.stage_file import load
from tests.cloud_clients import local_client

ROOT = Path(__file__).resolve().parent.parent
STAGE_FILE = ROOT / "eb_tools.yaml"
EB_TOOLS = str(Path(sys.executable).parent / "eb_tools")


@pytest.fixture(scope="module")
def staging() -> Any:
    """The local cloud with stage `staging` provisioned once through the CLI, as a user runs it."""
    cloud = LocalCloud(eb_transition_seconds=0.05).start()
    env = {**os.environ, "AWS_ENDPOINT_URL": cloud.url}
    first = subprocess.run([EB_TOOLS, "provision", "staging", "--yes", "--file", str(STAGE_FILE)],
                           capture_output=True, text=True, env=env, timeout=300)
    yield cloud, first, env
    cloud.stop()


def _client(cloud: LocalCloud, service: str) -> Any:
    return local_client(service, cloud.url, region=load(STAGE_FILE).stage("staging").region)


def _outputs(cloud: LocalCloud) -> dict[str, str]:
    stack = _client(cloud, "cloudformation").describe_stacks(StackName=stage_stack_name("oppima", "staging"))
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}


def test_provision_prints_the_change_sets_and_succeeds(staging):
    _, first, _ = staging
    assert first.returncode == 0, first.stdout + first.stderr
    assert "stack oppima-nonprod-network (create):" in first.stdout
    assert "stack oppima-staging-resources (create):" in first.stdout
    assert "action  resource" in first.stdout and "AWS::RDS::DBInstance" in first.stdout
    assert "stage staging: provisioned" in first.stdout


def test_every_resource_is_real_and_as_the_stage_file_says(staging):
    cloud, _, _ = staging
    outputs = _outputs(cloud)
    s3, rds = _client(cloud, "s3"), _client(cloud, "rds")
    for bucket in (outputs["UploadsBucket"], outputs["BackupBucket"], outputs["StaticBucket"], outputs["LogsBucket"]):
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()), bucket
        assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert '"aws:SecureTransport":"false"' in s3.get_bucket_policy(Bucket=bucket)["Policy"].replace(" ", "")
    for bucket in (outputs["UploadsBucket"], outputs["BackupBucket"]):
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    cors = s3.get_bucket_cors(Bucket=outputs["UploadsBucket"])["CORSRules"]
    web = environment_names("oppima", "staging")["web"]
    assert [(rule["AllowedOrigins"], rule["AllowedMethods"], rule.get("AllowedHeaders")) for rule in cors] == [
        ([f"http://{web}.eu-west-1.elasticbeanstalk.com"], ["POST"], None)]

    instances = {db["DBInstanceIdentifier"]: db for db in rds.describe_db_instances()["DBInstances"]}
    writer = next(db for db in instances.values() if db["Endpoint"]["Address"] == outputs["DbHost"])
    assert (writer["Engine"], writer["StorageEncrypted"], writer["MaxAllocatedStorage"]) == ("mariadb", True, 50)
    assert "MasterUserSecret" not in writer  # RDS refuses replicas of a source whose password it manages
    groups = {g["VpcSecurityGroupId"] for g in writer["VpcSecurityGroups"]}
    assert len(groups) == 1 and not writer["PubliclyAccessible"]
    replicas = [db for db in instances.values() if db.get("ReadReplicaSourceDBInstanceIdentifier")]
    assert len(replicas) == 1 and replicas[0]["Endpoint"]["Address"] == outputs["DbReaderHost"]
    secret = json.loads(_client(cloud, "secretsmanager").get_secret_value(
        SecretId=outputs["DbSecretArn"])["SecretString"])
    assert secret["username"] == writer["MasterUsername"] and len(secret["password"]) == 32

    redis = _client(cloud, "elasticache").describe_replication_groups()["ReplicationGroups"]
    assert len(redis) == 1 and redis[0]["TransitEncryptionEnabled"] and redis[0]["AtRestEncryptionEnabled"]
    assert redis[0]["NodeGroups"][0]["PrimaryEndpoint"]["Address"] == outputs["RedisHost"]

    sqs = _client(cloud, "sqs")
    queue = sqs.get_queue_attributes(QueueUrl=outputs["WorkerQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert "RedrivePolicy" in queue and queue.get("SqsManagedSseEnabled") == "true"

    distributions = _client(cloud, "cloudfront").list_distributions()["DistributionList"]["Items"]
    [distribution] = [d for d in distributions if d["DomainName"] == outputs["CdnDomain"]]
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    assert all(o.get("OriginAccessControlId") for o in distribution["Origins"]["Items"])

    iam = _client(cloud, "iam")
    profile = iam.get_instance_profile(InstanceProfileName=outputs["WebInstanceProfile"])["InstanceProfile"]
    assert len(profile["Roles"]) == 1
    attached = iam.list_attached_role_policies(RoleName=profile["Roles"][0]["RoleName"])["AttachedPolicies"]
    assert "AmazonSSMManagedInstanceCore" in {p["PolicyName"] for p in attached}  # Systems Manager, not SSH
    alarms = _client(cloud, "cloudwatch").describe_alarms()["MetricAlarms"]
    # Metric-math alarms (the 5xx rate) name no metric of their own, as in AWS.
    assert {a.get("MetricName") for a in alarms} >= {"ApproximateAgeOfOldestMessage", "CPUUtilization", "ReplicaLag",
                                                   "TargetResponseTime"}  # the web environment's ALB's, once it exists
    balancer = _client(cloud, "elasticbeanstalk").describe_environment_resources(
        EnvironmentName=environment_names("oppima", "staging")["web"])["EnvironmentResources"]["LoadBalancers"][0]
    latency = next(a for a in alarms if a.get("MetricName") == "TargetResponseTime")
    assert latency["Dimensions"] == [{"Name": "LoadBalancer", "Value": balancer["Name"].split(":loadbalancer/")[1]}]


def test_both_environments_are_configured_from_the_stack(staging):
    cloud, _, _ = staging
    outputs, eb = _outputs(cloud), _client(cloud, "elasticbeanstalk")
    names = environment_names("oppima", "staging")
    settings = {}
    for tier, name in names.items():
        described = eb.describe_configuration_settings(ApplicationName="oppima", EnvironmentName=name)
        settings[tier] = {(s["Namespace"], s["OptionName"]): s.get("Value")
                          for s in described["ConfigurationSettings"][0]["OptionSettings"]}
    web, worker = settings["web"], settings["worker"]
    assert (web[("aws:autoscaling:asg", "MinSize")], web[("aws:autoscaling:asg", "MaxSize")]) == ("2", "6")
    assert web[("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath")] == "/healthz"
    assert web[("aws:autoscaling:launchconfiguration", "IamInstanceProfile")] == outputs["WebInstanceProfile"]
    assert worker[("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")] == outputs["WorkerQueueUrl"]
    assert worker[("aws:autoscaling:launchconfiguration", "SecurityGroups")] == outputs["WorkerSecurityGroup"]
    properties = "aws:elasticbeanstalk:application:environment"
    assert worker[(properties, "APP_ROLE")] == "worker" and web[(properties, "APP_ROLE")] == "web"
    assert web[(properties, "DB_SECRET_ARN")] == outputs["DbSecretArn"] and web[(properties, "AWS_REGION")]
    assert web[(properties, "CDN_URL")] == worker[(properties, "CDN_URL")] == f"https://{outputs['CdnDomain']}"
    assert web[("aws:elasticbeanstalk:application:environmentsecrets", "SECRET_KEY")] == outputs["SecretKeySecretArn"]
    assert web[(properties, "SESSION_COOKIE_SECURE")] == "false"  # staging is served over plain http
    stage = load(STAGE_FILE).stage("staging")
    assert worker[(properties, "MAIL_FROM")] == stage.mail.sender
    identity = _client(cloud, "sesv2").get_email_identity(EmailIdentity=stage.mail.sender)
    assert (identity["IdentityType"], identity["VerifiedForSendingStatus"]) == ("EMAIL_ADDRESS", False)
    assert not any("password" in str(value).lower() for value in web.values())
    command = "aws:elasticbeanstalk:command"  # each tier deploys as the stage file chooses
    assert [web[(command, o)] for o in ("DeploymentPolicy", "BatchSizeType", "BatchSize")] == ["Rolling", "Fixed", "1"]
    assert worker[(command, "DeploymentPolicy")] == stage.worker.deployment.policy == "Rolling"
    envs = eb.describe_environments(ApplicationName="oppima", IncludeDeleted=False)["Environments"]
    assert sorted(e["Tier"]["Name"] for e in envs) == ["WebServer", "Worker"]
    launch = "aws:autoscaling:launchconfiguration"  # no SSH: no key pair, and no EB group to open port 22 on
    for tier in (web, worker):
        assert (tier[(launch, "EC2KeyName")], tier[(launch, "DisableDefaultEC2SecurityGroup")]) == (None, "true")


def test_a_second_run_changes_nothing(staging):
    cloud, _, env = staging
    events = len(_client(cloud, "cloudformation").describe_stack_events(
        StackName=stage_stack_name("oppima", "staging"))["StackEvents"])
    again = subprocess.run([EB_TOOLS, "provision", "staging", "--yes", "--file", str(STAGE_FILE)],
                           capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "stage staging: nothing to change" in again.stdout
    assert len(_client(cloud, "cloudformation").describe_stack_events(
        StackName=stage_stack_name("oppima", "staging"))["StackEvents"]) == events


def test_provision_output_json_is_the_plan_and_the_outputs(staging, monkeypatch):
    cloud, _, _ = staging
    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.url)
    result = CliRunner().invoke(cli.main, ["provision", "staging", "--yes", "--output", "json", "--file",
                                           str(STAGE_FILE)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"stage", "dry_run", "plan", "outputs"} and document["stage"] == "staging"
    assert document["outputs"] == _outputs(cloud) and document["dry_run"] is False
    plan = document["plan"]
    assert [(s["name"], s["action"], s["changes"]) for s in plan["stacks"]] == [
        ("oppima-nonprod-network", "update", []), ("oppima-staging-resources", "update", [])]
    assert plan["application"] == {"name": "oppima", "action": "none", "version": None}
    assert [(e["tier"], e["action"]) for e in plan["environments"]] == [("web", "none"), ("worker", "none")]


class _SlowStack:
    """A CloudFormation whose stack stays CREATE_IN_PROGRESS, with no new event, for three polls."""

    def __init__(self) -> None:
        self.polls = 0

    def execute_change_set(self, **_: Any) -> None:
        pass

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 (boto3's keyword)
        self.polls += 1
        status = "CREATE_COMPLETE" if self.polls > 3 else "CREATE_IN_PROGRESS"
        return {"Stacks": [{"StackName": StackName, "StackStatus": status, "Outputs": []}]}

    def get_paginator(self, name: str) -> Any:
        pages = {"describe_stack_events": [{"StackEvents": []}], "list_stack_resources": [{"StackResourceSummaries": [
            {"LogicalResourceId": "Database", "ResourceType": "AWS::RDS::DBInstance",
             "ResourceStatus": "CREATE_IN_PROGRESS"},
            {"LogicalResourceId": "Queue", "ResourceType": "AWS::SQS::Queue", "ResourceStatus": "CREATE_COMPLETE"}]}]}
        return SimpleNamespace(paginate=lambda **_: pages[name])


def test_a_quiet_stack_wait_says_what_it_waits_for(monkeypatch):
    monkeypatch.setattr(aws, "QUIET_SECONDS", 0.0)  # a line at every quiet poll instead of every 15 s
    lines: list[str] = []
    plan = stack_changes.StackPlan("db-stack", {}, {}, exists=False, change_set="arn:change-set")
    stack_changes.execute(_SlowStack(), plan, lines.append, interval=0.01)
    assert len(lines) == 3, lines
    assert all(re.fullmatch(r"  \.\.\. \d+s waiting for stack db-stack: CREATE_IN_PROGRESS, in progress: "
                            r"Database \(AWS::RDS::DBInstance\)", line) for line in lines), lines


def _changed_template(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    original = pipeline.stage_template

    def changed(file: Any, stage: str) -> dict[str, Any]:
        template = copy.deepcopy(original(file, stage))
        change(template["Resources"])
        return template

    monkeypatch.setattr(pipeline, "stage_template", changed)


def test_replacing_a_data_resource_is_refused_without_allow_replace(staging, monkeypatch):
    cloud, _, _ = staging
    database = next(name for name, r in pipeline.stage_template(load(STAGE_FILE), "staging")["Resources"].items()
                    if r["Type"] == "AWS::RDS::DBInstance" and "SourceDBInstanceIdentifier" not in r["Properties"])
    _changed_template(monkeypatch, lambda resources: resources[database]["Properties"].update(DBName="renamed"))
    lines: list[str] = []
    with pytest.raises(ProvisionError, match=f"would replace data resources: {database}"):
        command.provision(STAGE_FILE, "staging", yes=True, endpoint_url=cloud.url, echo=lines.append)
    assert any("REPLACES DATA" in line for line in lines), lines
    changes = _client(cloud, "cloudformation").list_change_sets(StackName=stage_stack_name("oppima", "staging"))
    assert [c for c in changes["Summaries"] if c["ExecutionStatus"] == "AVAILABLE"] == []  # discarded, not left


def test_a_failing_resource_rolls_back_and_is_named(staging, monkeypatch):
    cloud, _, _ = staging
    before = _outputs(cloud)
    _changed_template(monkeypatch, lambda resources: resources.update(BrokenRole={
        "Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/NoSuchPolicy"]}}))
    with pytest.raises(ProvisionError, match="BrokenRole .AWS::IAM::Role.: .*NoSuchPolicy") as failed:
        command.provision(STAGE_FILE, "staging", yes=True, endpoint_url=cloud.url, echo=lambda _: None)
    assert "UPDATE_ROLLBACK_COMPLETE" in str(failed.value)
    stack = _client(cloud, "cloudformation").describe_stacks(
        StackName=stage_stack_name("oppima", "staging"))["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE" and _outputs(cloud) == before


def test_an_unregistered_start_version_is_refused_before_anything_changes(staging):
    cloud, _, _ = staging
    with pytest.raises(ProvisionError, match="--label v-none: no such version in application oppima"):
        command.provision(STAGE_FILE, "staging", yes=True, endpoint_url=cloud.url, echo=lambda _: None,
                          version="v-none")


MAIL_STAGE = """
application: mailapp
region: eu-west-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  mail:
    isolation: mail
    web: {{instance_type: t3.micro, min: 1, max: 1}}
    worker: {{instance_type: t3.micro, min: 1, max: 1}}
    plain_http: true
    mail: {{from: no-reply@{domain}, identity: domain}}
    alarm_email: ops@example.com
"""


def test_a_domain_identity_s_records_are_printed_and_shown_until_verified(staging, tmp_path):
    cloud, _, _ = staging
    domain = f"mail-{uuid.uuid4().hex[:8]}.example.com"
    path = tmp_path / "eb_tools.yaml"
    path.write_text(MAIL_STAGE.format(domain=domain))
    lines: list[str] = []
    command.provision(path, "mail", yes=True, endpoint_url=cloud.url, echo=lines.append, poll_seconds=0.05)
    tokens = _client(cloud, "sesv2").get_email_identity(EmailIdentity=domain)["DkimAttributes"]["Tokens"]
    records = [{"type": "CNAME", "name": f"{token}._domainkey.{domain}", "value": f"{token}.dkim.amazonses.com"}
               for token in tokens]
    at = lines.index(f"mail: publish these DNS records of {domain}; SES sends from it once it finds them "
                     "(eb_tools status says when):")
    assert lines[at + 1:at + 4] == [f"  CNAME {r['name']} -> {r['value']}" for r in records]

    [where] = resolve(path, ["mail"], endpoint_url=cloud.url)
    report = stage_status(where)["mail"]
    assert report == {"sender": f"no-reply@{domain}", "identity": domain, "identity_type": "domain",
                      "exists": True, "verified": False, "dkim_status": "PENDING", "dns_records": records,
                      "sandbox": True}
    text: list[str] = []
    render(stage_status(where), text.append)
    assert f"  mail   no-reply@{domain}: domain {domain} not verified: SES has not found its DKIM records " \
           "(PENDING); publish them in its DNS:" in text
    assert f"         CNAME {records[0]['name']} -> {records[0]['value']}" in text
    assert "         SES sandbox: mail goes to verified addresses only; leave it by asking for " \
           "production access (aws sesv2 put-account-details --production-access-enabled --mail-type " \
           "TRANSACTIONAL --website-url URL --region eu-west-1)" in text

    [staging_stage] = resolve(STAGE_FILE, ["staging"], endpoint_url=cloud.url)
    text.clear()
    render(stage_status(staging_stage), text.append)
    sender = staging_stage.stage.mail.sender
    assert f"  mail   {sender}: address {sender} not verified: follow the link SES mailed to it" in text

    cloud.verify_email_identity("eu-west-1", domain)  # SES found the records
    cloud.ses_production_access = True  # and AWS granted production access
    try:
        report = stage_status(where)["mail"]
        assert (report["verified"], report["dkim_status"], report["dns_records"], report["sandbox"]) == (
            True, "SUCCESS", [], False)
        text.clear()
        render(stage_status(where), text.append)
        assert f"  mail   no-reply@{domain}: domain {domain} verified" in text
        assert not [line for line in text if "CNAME" in line or "sandbox" in line]
    finally:
        cloud.ses_production_access = False


def test_mail_that_cannot_be_read_is_one_line():
    lines: list[str] = []
    mail_status.render({"sender": "a@example.com", "identity": "a@example.com", "identity_type": "address",
                        "error": "stage qa: AccessDenied: not authorized to perform ses:GetAccount"},
                       "eu-west-1", lines.append)
    assert lines == ["  mail   a@example.com: stage qa: AccessDenied: not authorized to perform ses:GetAccount"]


def test_dry_run_changes_nothing(tmp_path):
    cloud = LocalCloud(eb_transition_seconds=0.05).start()
    try:
        lines: list[str] = []
        command.provision(STAGE_FILE, "production", dry_run=True, endpoint_url=cloud.url, echo=lines.append)
        assert "dry run: nothing changed" in lines and any("AWS::ElastiCache::ReplicationGroup" in x for x in lines)
        # moto's backends outlive one LocalCloud in this process: look at this stage's names only.
        stacks = [s["StackName"] for s in _client(cloud, "cloudformation").list_stacks()["StackSummaries"]]
        assert not [name for name in stacks if "production" in name]
        environments = _client(cloud, "elasticbeanstalk").describe_environments()["Environments"]
        assert not [e for e in environments if "production" in e["EnvironmentName"]]
    finally:
        cloud.stop()


@pytest.mark.parametrize(("stage_file", "words"), [
    ("application: oppima\nregion: eu-west-1\nplatform: P\nstages:\n  staging:\n    account: '999999999999'\n"
     "    isolation: nonprod\n    web: {instance_type: t3.small}\n    worker: {instance_type: t3.small, min: 1, max: 1}"
     "\n    plain_http: true\n    mail: {from: no-reply@example.com}\n    alarm_email: ops@example.com\n",
     "stages.staging.account: 999999999999: the credentials in use belong to"),
    (None, "stages.nowhere: no such stage (defined: local, production, staging)"),
])
def test_bad_input_is_one_line_before_anything_changes(tmp_path, stage_file, words):
    cloud = LocalCloud().start()
    try:
        path = STAGE_FILE
        if stage_file:
            path = tmp_path / "eb_tools.yaml"
            path.write_text(stage_file)
        stage = "staging" if stage_file else "nowhere"
        cfn = local_client("cloudformation", cloud.url, "eu-west-1")
        before = cfn.list_stacks()["StackSummaries"]  # moto's backends outlive one LocalCloud in this process
        done = subprocess.run([EB_TOOLS, "provision", stage, "--yes", "--file", str(path)], capture_output=True,
                              text=True, env={**os.environ, "AWS_ENDPOINT_URL": cloud.url}, timeout=60)
        assert done.returncode == 1 and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert cfn.list_stacks()["StackSummaries"] == before
    finally:
        cloud.stop()


def test_the_readme_path_cloud_only_then_provision(tmp_path):
    """`eb_tools local --cloud-only` in one shell, its exports and `eb_tools provision staging --yes` in another."""
    port = free_port()
    cloud = subprocess.Popen([EB_TOOLS, "local", "--cloud-only", "--cloud-port", str(port), "--eb-seconds", "0.05"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert cloud.stdout is not None
        exports = next(line for line in cloud.stdout if "export AWS_ENDPOINT_URL=" in line)
        env = dict(os.environ)
        env.update(pair.split("=", 1) for pair in exports.split("export", 1)[1].split())
        assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        done = subprocess.run([EB_TOOLS, "provision", "staging", "--yes", "--file", str(STAGE_FILE)],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0 and "stage staging: provisioned" in done.stdout, done.stdout + done.stderr
        eb = local_client("elasticbeanstalk", env["AWS_ENDPOINT_URL"], "eu-west-1")
        names = set(environment_names("oppima", "staging").values())
        assert names <= {e["EnvironmentName"] for e in eb.describe_environments()["Environments"]}
    finally:
        cloud.send_signal(signal.SIGINT)
        cloud.wait(timeout=30)
