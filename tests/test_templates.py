"""Static gates on the templates of every shipped stage: cfn-lint, checkov, and the security properties read
straight from the templates (encryption, private buckets, least privilege, the security-group chain)."""
from __future__ import annotations

import collections
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from eb_tools import stage_file as stages
from eb_tools.names import web_environments
from eb_tools.provision import (
    network_stack_name,
    network_template,
    stage_stack_name,
    stage_template,
)
from eb_tools.stage import desired
from eb_tools.stage_file import StageFileError

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
STAGE_FILE = stages.load(ROOT / "eb_tools.yaml")
STAGES = sorted(STAGE_FILE.stages)
GROUPS = sorted({STAGE_FILE.stage(name).isolation for name in STAGES})

# The only resource types the local cloud emulates honestly (issue 13): a template may use no other.
ALLOWED_TYPES = {
    *(f"AWS::EC2::{kind}" for kind in (
        "VPC", "Subnet", "InternetGateway", "VPCGatewayAttachment", "RouteTable", "Route",
        "SubnetRouteTableAssociation", "EIP", "NatGateway", "VPCEndpoint", "SecurityGroup", "SecurityGroupIngress",
        "SecurityGroupEgress")),
    "AWS::RDS::DBSubnetGroup", "AWS::RDS::DBInstance", "AWS::ElastiCache::SubnetGroup",
    "AWS::ElastiCache::ReplicationGroup", "AWS::S3::Bucket", "AWS::S3::BucketPolicy",
    "AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl", "AWS::SQS::Queue", "AWS::IAM::Role",
    "AWS::IAM::InstanceProfile", "AWS::IAM::ManagedPolicy", "AWS::SecretsManager::Secret", "AWS::SNS::Topic",
    "AWS::SNS::Subscription", "AWS::CloudWatch::Alarm", "AWS::SES::EmailIdentity",
    "AWS::SecretsManager::SecretTargetAttachment", "AWS::SecretsManager::RotationSchedule",
}
NETWORK_OUTPUTS = {"VpcId", "PublicSubnetIds", "PrivateSubnetIds"}
STAGE_OUTPUTS = {
    "LoadBalancerSecurityGroup", "WebSecurityGroup", "WorkerSecurityGroup", "WebInstanceProfile",
    "WorkerInstanceProfile", "ServiceRole", "UploadsBucket", "BackupBucket", "StaticBucket", "LogsBucket", "CdnDomain",
    "WorkerQueueUrl", "WorkerQueueArn", "WorkerDeadLetterQueueUrl", "SecretKeySecretArn", "AlarmTopicArn",
}
DATABASE_OUTPUTS = {"DbHost", "DbReaderHost", "DbPort", "DbSecretArn"}
REDIS_OUTPUTS = {"RedisHost", "RedisPort", "RedisAuthSecretArn"}
DKIM_OUTPUTS = {f"MailDkim{kind}{n}" for kind in ("Name", "Value") for n in (1, 2, 3)}  # a domain identity's records
# IAM actions that authorize on no resource type: "*" is the only resource AWS accepts for them.
NO_RESOURCE_LEVEL = {"cloudwatch:PutMetricData"}


def templates() -> dict[str, tuple[str, dict[str, Any]]]:
    """{file name: (region, template)} for every network and stage template of the shipped stage file."""
    rendered = {}
    for group in GROUPS:
        rendered[f"network-{group}.json"] = (STAGE_FILE.network(group).region, network_template(STAGE_FILE, group))
    for name in STAGES:
        rendered[f"stage-{name}.json"] = (STAGE_FILE.stage(name).region, stage_template(STAGE_FILE, name))
    return rendered


TEMPLATES = templates()


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties", {})


def logical_id(value: Any) -> str | None:
    """The resource a Ref or a GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


# --- cfn-lint and checkov -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_cfn_lint_reports_no_error(name):
    region, template = TEMPLATES[name]
    matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
    errors = [f"{m.rule.id} {m.message} at {'/'.join(map(str, m.path))}" for m in matches if m.rule.id[0] == "E"]
    assert not errors, "\n".join(errors)


def run_checkov(folder: Path) -> dict[str, Any]:
    done = subprocess.run([str(CHECKOV), "-d", str(folder), "--framework", "cloudformation", "--skip-download",
                           "--quiet", "-o", "json"], capture_output=True, text=True, timeout=300, cwd=folder)
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["resource_count"] > 0, done.stderr
    return report


@pytest.fixture(scope="module")
def checkov_reports(tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any], set[tuple[str, str, str]]]:
    """checkov on the templates as they are, and on copies without their skips (to see what each skip hides)."""
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV.relative_to(ROOT)} is missing: `make test` creates it (checkov needs a venv of its own)")
    real, bare = tmp_path_factory.mktemp("templates"), tmp_path_factory.mktemp("templates-without-skips")
    declared = set()
    for name, (_, template) in TEMPLATES.items():
        (real / name).write_text(json.dumps(template))
        stripped = copy.deepcopy(template)
        for logical, resource in stripped["Resources"].items():
            for skip in resource.pop("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["comment"].strip(), f"{name} {logical}: skip {skip['id']} without a reason"
                declared.add((name, logical, skip["id"]))
        (bare / name).write_text(json.dumps(stripped))
    return run_checkov(real), run_checkov(bare), declared


def test_checkov_reports_no_failed_check(checkov_reports):
    real, _, _ = checkov_reports
    failed = [f"{c['check_id']} {c['resource']} in {c['file_path']}" for c in real["results"]["failed_checks"]]
    assert not failed, "\n".join(failed)


def test_every_checkov_skip_hides_a_real_failure(checkov_reports):
    """A skip stays only while its check would fail: no stale or blanket skips."""
    _, bare, declared = checkov_reports
    failing = {(Path(c["file_path"]).name, c["resource"].split(".")[-1], c["check_id"])
               for c in bare["results"]["failed_checks"]}
    assert failing == declared


# --- what the templates are made of -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_only_the_emulated_resource_types(name):
    _, template = TEMPLATES[name]
    assert {r["Type"] for r in template["Resources"].values()} <= ALLOWED_TYPES


@pytest.mark.parametrize("group", GROUPS)
def test_network_outputs_and_nat(group):
    template = network_template(STAGE_FILE, group)
    assert set(template["Outputs"]) == NETWORK_OUTPUTS
    nat = STAGE_FILE.network(group).nat
    assert bool(resources(template, "AWS::EC2::NatGateway")) == nat
    zones = {json.dumps(props(s)["AvailabilityZone"]) for s in resources(template, "AWS::EC2::Subnet").values()}
    assert len(zones) == 2
    endpoints = {props(e)["VpcEndpointType"]: props(e) for e in resources(template, "AWS::EC2::VPCEndpoint").values()}
    assert ".s3" in endpoints["Gateway"]["ServiceName"]["Fn::Sub"]
    route_tables = set(resources(template, "AWS::EC2::RouteTable"))
    assert {logical_id(ref) for ref in endpoints["Gateway"]["RouteTableIds"]} == route_tables
    rotating = any(s.database and s.database.rotates for s in map(STAGE_FILE.stage, STAGE_FILE.network(group).stages))
    # Without NAT, a rotation function reaches Secrets Manager only through an interface endpoint.
    assert ("Interface" in endpoints) == (rotating and not nat)


@pytest.mark.parametrize("name", STAGES)
def test_stage_outputs_and_parameters(name):
    stage = STAGE_FILE.stage(name)
    template = stage_template(STAGE_FILE, name)
    expected = NETWORK_OUTPUTS | STAGE_OUTPUTS
    expected |= DATABASE_OUTPUTS if stage.database else set()
    expected |= REDIS_OUTPUTS if stage.redis else set()
    expected |= DKIM_OUTPUTS if stage.mail.identity == "domain" else set()
    assert set(template["Outputs"]) == expected
    parameters = template["Parameters"]
    assert parameters["PublicSubnetIds"]["Type"] == parameters["PrivateSubnetIds"]["Type"] == "CommaDelimitedList"
    assert set(parameters) >= NETWORK_OUTPUTS


@pytest.mark.parametrize("name", STAGES)
def test_the_stage_creates_its_sender_identity(name):
    stage = STAGE_FILE.stage(name)
    template = stage_template(STAGE_FILE, name)
    [identity] = resources(template, "AWS::SES::EmailIdentity").values()
    assert props(identity) == {"EmailIdentity": stage.mail.identity_name}
    if stage.mail.identity == "domain":  # Easy DKIM: the CNAME records provision prints
        [logical] = resources(template, "AWS::SES::EmailIdentity")
        assert {name: output["Value"] for name, output in template["Outputs"].items() if name in DKIM_OUTPUTS} == {
            f"MailDkim{kind}{n}": {"Fn::GetAtt": [logical, f"DkimDNSToken{kind}{n}"]}
            for kind in ("Name", "Value") for n in (1, 2, 3)}


# --- security properties ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STAGES)
def test_every_data_store_is_encrypted(name):
    template = stage_template(STAGE_FILE, name)
    for bucket in resources(template, "AWS::S3::Bucket").values():
        rule, = props(bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    for queue in resources(template, "AWS::SQS::Queue").values():
        assert props(queue).get("SqsManagedSseEnabled") is True or props(queue).get("KmsMasterKeyId")
    databases = resources(template, "AWS::RDS::DBInstance")
    for db in databases.values():
        source = logical_id(props(db).get("SourceDBInstanceIdentifier"))
        # A replica is encrypted exactly when its source is.
        encrypted = props(databases[source] if source else db).get("StorageEncrypted")
        assert encrypted is True
        assert props(db)["PubliclyAccessible"] is False
        # No password in the template: only a dynamic reference to the generated credentials secret.
        password = props(db).get("MasterUserPassword")
        assert password is None or password["Fn::Sub"][0].startswith("{{resolve:secretsmanager:")
    for redis in resources(template, "AWS::ElastiCache::ReplicationGroup").values():
        assert props(redis)["AtRestEncryptionEnabled"] is True and props(redis)["TransitEncryptionEnabled"] is True
        assert props(redis)["AuthToken"]["Fn::Sub"].startswith("{{resolve:secretsmanager:")


@pytest.mark.parametrize("name", STAGES)
def test_no_bucket_is_public_and_every_bucket_refuses_plain_http(name):
    template = stage_template(STAGE_FILE, name)
    buckets = resources(template, "AWS::S3::Bucket")
    policies = {logical_id(props(p)["Bucket"]): props(p)["PolicyDocument"]
                for p in resources(template, "AWS::S3::BucketPolicy").values()}
    assert set(policies) == set(buckets)
    for name_, bucket in buckets.items():
        block = props(bucket)["PublicAccessBlockConfiguration"]
        assert all(block[key] is True for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                                  "RestrictPublicBuckets")), name_
        assert "AccessControl" not in props(bucket) and "WebsiteConfiguration" not in props(bucket)
        statements = policies[name_]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements), name_
        for allow in (s for s in statements if s["Effect"] == "Allow"):
            assert allow["Principal"] not in ("*", {"AWS": "*"}), name_
            if allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}:
                assert "AWS:SourceArn" in allow["Condition"]["StringEquals"], name_


@pytest.mark.parametrize("name", STAGES)
def test_cloudfront_serves_https_only_through_origin_access_control(name):
    template = stage_template(STAGE_FILE, name)
    distribution, = resources(template, "AWS::CloudFront::Distribution").values()
    config = props(distribution)["DistributionConfig"]
    for behaviour in [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]:
        assert behaviour["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
        assert behaviour["Compress"] is True
    assert {logical_id(o["DomainName"]) for o in config["Origins"]} == {"UploadsBucket", "StaticBucket"}
    assert all("OriginAccessControlId" in origin for origin in config["Origins"])


@pytest.mark.parametrize("name", STAGES)
def test_uploads_cors_allows_only_the_stage_origins_and_a_presigned_post(name):
    template = stage_template(STAGE_FILE, name)
    rule, = props(template["Resources"]["UploadsBucket"])["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == {"Ref": "WebOrigins"}
    assert rule["AllowedMethods"] == ["POST"]
    assert "AllowedHeaders" not in rule and "ExposedHeaders" not in rule  # a FormData POST asks for none
    stage = STAGE_FILE.stage(name)
    assert template["Parameters"]["WebOrigins"]["Default"].split(",") == [
        f"http://{web}.{stage.region}.elasticbeanstalk.com"
        for web in web_environments(stage.application, name, stage.web.blue_green)]


def with_domain(name: str, **web: Any) -> stages.StageFile:
    """The shipped stage file with stage `name` served over HTTPS at app.example.com (and `web` settings)."""
    data = STAGE_FILE.model_dump(mode="json")
    stage = data["stages"][name]
    region = stage.get("region") or data["region"]
    stage.pop("plain_http")
    stage["domain"] = {
        "name": "app.example.com",
        "certificate_arn": f"arn:aws:acm:{region}:123456789012:certificate/0b0e7a2c-3f1e-4c55-9d4f-1a2b3c4d5e6f"}
    stage["web"] = {**stage.get("web", {}), **web}
    return stages.StageFile.model_validate(data)


def test_a_custom_domain_and_every_web_cname_are_the_web_origins():
    file = with_domain("staging", blue_green=True)
    region = file.stage("staging").region
    template = stage_template(file, "staging")
    twins = web_environments(file.application, "staging", True)
    assert template["Parameters"]["WebOrigins"]["Default"] == ",".join(
        ["https://app.example.com", *(f"http://{web}.{region}.elasticbeanstalk.com" for web in twins)])
    assert len(twins) == 2


OUTPUTS = {"UploadsBucket": "uploads", "BackupBucket": "backup", "CdnDomain": "d1.cloudfront.net",
           "WorkerQueueUrl": "https://sqs.example/queue"}  # what properties() reads of a stack's outputs


@pytest.mark.parametrize("name", STAGES)
def test_the_session_cookie_is_secure_exactly_when_the_stage_is_served_over_https(name):
    """A browser keeps a Secure cookie only over HTTPS: over plain http nobody could log in."""
    for file in (STAGE_FILE, with_domain(name)):
        stage = file.stage(name)
        web = desired.properties(stage, "web", OUTPUTS)
        assert web["SESSION_COOKIE_SECURE"] == ("true" if stage.domain else "false")
        assert "SESSION_COOKIE_SECURE" not in desired.properties(stage, "worker", OUTPUTS)


@pytest.mark.parametrize("name", STAGES)
def test_the_worker_sends_as_the_stage_file_says(name):
    stage = STAGE_FILE.stage(name)
    assert desired.properties(stage, "worker", OUTPUTS)["MAIL_FROM"] == stage.mail.sender
    assert "MAIL_FROM" not in desired.properties(stage, "web", OUTPUTS)  # the web app queues mail, never sends


def instance_policies(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Statements of the managed policies attached to the web and worker instance roles."""
    profiles = resources(template, "AWS::IAM::InstanceProfile")
    roles = {logical_id(role) for profile in profiles.values() for role in props(profile)["Roles"]}
    return {name: props(p)["PolicyDocument"]["Statement"]
            for name, p in resources(template, "AWS::IAM::ManagedPolicy").items()
            if {logical_id(role) for role in props(p)["Roles"]} & roles}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", STAGES)
def test_instance_policies_name_their_resources(name):
    policies = instance_policies(stage_template(STAGE_FILE, name))
    assert len(policies) == 2
    for policy, statements in policies.items():
        for statement in statements:
            actions = as_list(statement["Action"])
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            assert not [a for a in actions if "*" in a], f"{policy}: wildcard action in {statement['Sid']}"
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= NO_RESOURCE_LEVEL, f"{policy}: '*' resource in {statement['Sid']}"


@pytest.mark.parametrize("name", STAGES)
def test_web_and_worker_permissions(name):
    stage = STAGE_FILE.stage(name)
    policies = instance_policies(stage_template(STAGE_FILE, name))

    def granted(policy: str) -> set[str]:
        return {a for s in policies[policy] for a in as_list(s["Action"])}

    web, worker = granted("WebInstancePolicy"), granted("WorkerInstancePolicy")
    assert {"s3:PutObject", "s3:GetObject", "sqs:SendMessage", "secretsmanager:GetSecretValue"} <= web
    assert not web & {"sqs:ReceiveMessage", "sqs:DeleteMessage", "ses:SendEmail", "sns:Publish"}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "ses:SendEmail",
            "sns:Publish", "dynamodb:PutItem", "cloudwatch:PutMetricData"} <= worker
    assert "ses:SendRawEmail" not in worker  # worker/tasks/email.py sends with SendEmail only
    [send] = [s for s in policies["WorkerInstancePolicy"] if "ses:SendEmail" in as_list(s["Action"])]
    assert as_list(send["Action"]) == ["ses:SendEmail"] and send["Resource"] == [{"Fn::Sub": (
        f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/{stage.mail.identity_name}")}]
    secrets = {logical_id(r) for s in policies["WebInstancePolicy"] if s["Action"] == ["secretsmanager:GetSecretValue"]
               for r in s["Resource"]}
    expected = {"SecretKeySecret"} | ({"DatabaseCredentials"} if stage.database else set())
    assert secrets == expected | ({"RedisAuthSecret"} if stage.redis else set())


def ingress_rules(template: dict[str, Any]) -> set[tuple[str, str, int, int]]:
    """(group, source group or CIDR, from port, to port) for every inbound rule, inline or separate."""
    rules = set()
    for group, resource in resources(template, "AWS::EC2::SecurityGroup").items():
        for rule in props(resource).get("SecurityGroupIngress", []):
            source = logical_id(rule.get("SourceSecurityGroupId")) or rule["CidrIp"]
            rules.add((group, source, rule["FromPort"], rule["ToPort"]))
    for resource in resources(template, "AWS::EC2::SecurityGroupIngress").values():
        rule = props(resource)
        source = logical_id(rule.get("SourceSecurityGroupId")) or rule["CidrIp"]
        rules.add((logical_id(rule["GroupId"]), source, rule["FromPort"], rule["ToPort"]))
    return rules


def egress_rules(template: dict[str, Any]) -> set[tuple[str, str, int, int]]:
    rules = set()
    for group, resource in resources(template, "AWS::EC2::SecurityGroup").items():
        for rule in props(resource).get("SecurityGroupEgress", []):
            target = logical_id(rule.get("DestinationSecurityGroupId")) or rule["CidrIp"]
            rules.add((group, target, rule["FromPort"], rule["ToPort"]))
    for resource in resources(template, "AWS::EC2::SecurityGroupEgress").values():
        rule = props(resource)
        rules.add((logical_id(rule["GroupId"]), logical_id(rule["DestinationSecurityGroupId"]), rule["FromPort"],
                   rule["ToPort"]))
    return rules


def opens_ssh(rule: dict[str, Any]) -> bool:
    """Whether an ingress rule admits port 22: every protocol (-1), or TCP over a range holding 22."""
    if str(rule.get("IpProtocol")) == "-1":
        return True
    return str(rule.get("IpProtocol")) in ("tcp", "6") and int(rule["FromPort"]) <= 22 <= int(rule["ToPort"])


def keys_of(value: Any) -> set[str]:
    """Every mapping key anywhere in `value`."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    return {k for v in value for k in keys_of(v)} if isinstance(value, list) else set()


@pytest.mark.parametrize("name", STAGES)
def test_no_ssh_anywhere_and_session_manager_instead(name):
    """No key pair and no port 22 on any instance: operators reach them through Systems Manager (eb_tools run,
    eb_tools shell), whose agent the instance roles let register."""
    stage = STAGE_FILE.stage(name)
    template = stage_template(STAGE_FILE, name)
    for rendered in (template, network_template(STAGE_FILE, stage.isolation)):
        assert not keys_of(rendered) & {"KeyName", "EC2KeyName"}
        groups = [props(g).get("SecurityGroupIngress", []) for g in resources(rendered, "AWS::EC2::SecurityGroup")
                  .values()]
        separate = [props(r) for r in resources(rendered, "AWS::EC2::SecurityGroupIngress").values()]
        assert not [rule for rule in [*(r for rules in groups for r in rules), *separate] if opens_ssh(rule)]
    outputs = collections.defaultdict(lambda: "x")  # every output provision reads, of any value
    for tier in ("web", "worker"):
        chosen = {(namespace, option): value for namespace, option, value in
                  desired.desired_settings(stage, tier, outputs)}
        assert ("aws:autoscaling:launchconfiguration", "EC2KeyName") not in chosen
        # EB's own group, whose SSHSourceRestriction would open port 22 to a key pair's holders, is never attached.
        assert chosen[("aws:autoscaling:launchconfiguration", "DisableDefaultEC2SecurityGroup")] == "true"
    profiles = resources(template, "AWS::IAM::InstanceProfile")
    roles = {logical_id(role) for profile in profiles.values() for role in props(profile)["Roles"]}
    assert roles == {"WebInstanceRole", "WorkerInstanceRole"}
    for role in roles:
        assert props(template["Resources"][role])["ManagedPolicyArns"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]


@pytest.mark.parametrize("name", STAGES)
def test_security_groups_chain_load_balancer_web_and_data_stores(name):
    stage = STAGE_FILE.stage(name)
    template = stage_template(STAGE_FILE, name)
    lb, web, worker = "LoadBalancerSecurityGroup", "WebSecurityGroup", "WorkerSecurityGroup"
    expected = {(lb, "0.0.0.0/0", 80, 80), (lb, "0.0.0.0/0", 443, 443), (web, lb, 80, 80)}
    if stage.database:
        expected |= {("DatabaseSecurityGroup", web, 3306, 3306), ("DatabaseSecurityGroup", worker, 3306, 3306)}
    if stage.database and stage.database.rotates:
        expected.add(("DatabaseSecurityGroup", "DatabaseRotationSecurityGroup", 3306, 3306))
    if stage.redis:
        expected |= {("RedisSecurityGroup", web, 6379, 6379), ("RedisSecurityGroup", worker, 6379, 6379)}
    assert ingress_rules(template) == expected  # so: nothing reaches the workers, nothing else is open
    for group, target, low, high in egress_rules(template):
        if target == "0.0.0.0/0":
            assert group in (web, worker, "DatabaseRotationSecurityGroup") and (low, high) == (443, 443), (group, low)
        elif target == "255.255.255.255/32":
            assert group in ("DatabaseSecurityGroup", "RedisSecurityGroup")  # the match-nothing rule
        else:
            assert (target, group, low, high) in expected, (group, target, low, high)


@pytest.mark.parametrize("name", STAGES)
def test_the_database_secret_rotates_on_a_hosted_schedule_in_the_private_subnets(name):
    stage = STAGE_FILE.stage(name)
    template = stage_template(STAGE_FILE, name)
    assert stage.database and stage.database.rotation_days == 30  # the default
    # HostedRotationLambda exists only through the transform, which needs CAPABILITY_AUTO_EXPAND (stacks.py).
    assert template["Transform"] == "AWS::SecretsManager-2024-09-16"
    schedule, = resources(template, "AWS::SecretsManager::RotationSchedule").values()
    attachment, = resources(template, "AWS::SecretsManager::SecretTargetAttachment").items()
    hosted = props(schedule)["HostedRotationLambda"]
    # The MySQL function refuses a secret whose engine is 'mariadb' (and the reverse): the engine's own.
    assert hosted["RotationType"] == {"mariadb": "MariaDBSingleUser", "mysql": "MySQLSingleUser"}[
        stage.database.engine]
    assert hosted["VpcSubnetIds"] == {"Fn::Join": [",", {"Ref": "PrivateSubnetIds"}]}
    assert logical_id(hosted["VpcSecurityGroupIds"]) == "DatabaseRotationSecurityGroup"
    assert hosted["ExcludeCharacters"] == props(template["Resources"]["DatabaseCredentials"])[
        "GenerateSecretString"]["ExcludeCharacters"]
    assert hosted["RotationLambdaName"] == f"oppima-{name}-db-rotation"
    assert props(schedule)["RotationRules"] == {"AutomaticallyAfterDays": 30}
    assert props(schedule)["RotateImmediatelyOnUpdate"] is False
    assert logical_id(props(schedule)["SecretId"]) == "DatabaseCredentials"
    # The function finds the database in the secret: the attachment writes host and port before it runs.
    name_of_attachment, attached = attachment
    assert schedule["DependsOn"] == [name_of_attachment]
    assert (logical_id(props(attached)["SecretId"]), logical_id(props(attached)["TargetId"]),
            props(attached)["TargetType"]) == ("DatabaseCredentials", "Database", "AWS::RDS::DBInstance")


def test_a_stage_without_a_rotation_schedule_has_neither_transform_nor_endpoint():
    data = STAGE_FILE.model_dump(by_alias=True)
    data["stages"]["staging"]["database"]["rotation_days"] = 0
    file = stages.StageFile.model_validate(data)
    template = stage_template(file, "staging")
    assert "Transform" not in template
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert not kinds & {"AWS::SecretsManager::RotationSchedule", "AWS::SecretsManager::SecretTargetAttachment"}
    assert "DatabaseRotationSecurityGroup" not in template["Resources"]
    network = network_template(file, "nonprod")
    assert [props(e)["VpcEndpointType"] for e in resources(network, "AWS::EC2::VPCEndpoint").values()] == ["Gateway"]


def test_the_secrets_manager_endpoint_takes_https_from_the_vpc_in_every_private_subnet():
    template = network_template(STAGE_FILE, "nonprod")
    endpoint = props(template["Resources"]["SecretsManagerEndpoint"])
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"}
    assert endpoint["PrivateDnsEnabled"] is True  # the function calls Secrets Manager by its public name
    assert {logical_id(s) for s in endpoint["SubnetIds"]} == {"PrivateSubnetA", "PrivateSubnetB"}
    group = props(template["Resources"][logical_id(endpoint["SecurityGroupIds"][0])])
    # Private DNS sends every caller of Secrets Manager in the VPC there, the instances too: the VPC, on 443.
    [rule] = group["SecurityGroupIngress"]
    assert (rule["CidrIp"], rule["FromPort"], rule["ToPort"]) == (props(template["Resources"]["Vpc"])["CidrBlock"],
                                                                   443, 443)
    assert [e["CidrIp"] for e in group["SecurityGroupEgress"]] == ["255.255.255.255/32"]  # nothing out


@pytest.mark.parametrize("name", STAGES)
def test_data_survives_its_resource(name):
    template = stage_template(STAGE_FILE, name)
    policies = {"AWS::S3::Bucket": "Retain", "AWS::SecretsManager::Secret": "Retain",
                "AWS::ElastiCache::ReplicationGroup": "Snapshot"}
    for kind, policy in policies.items():
        for resource in resources(template, kind).values():
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == policy
    for db in resources(template, "AWS::RDS::DBInstance").values():
        # RDS takes no final snapshot of a read replica, which holds no data of its own.
        policy = "Delete" if "SourceDBInstanceIdentifier" in props(db) else "Snapshot"
        assert db["DeletionPolicy"] == db["UpdateReplacePolicy"] == policy


@pytest.mark.parametrize("name", STAGES)
def test_stage_settings_reach_the_template(name):
    stage = STAGE_FILE.stage(name)
    template = stage_template(STAGE_FILE, name)
    databases = resources(template, "AWS::RDS::DBInstance")
    writers = [p for p in map(props, databases.values()) if "SourceDBInstanceIdentifier" not in p]
    if stage.database:
        writer, = writers
        spec = stage.database
        assert (writer["Engine"], writer["EngineVersion"], writer["DBInstanceClass"]) == (
            spec.engine, spec.engine_version, spec.instance_class)
        assert (writer["MultiAZ"], writer["DeletionProtection"], writer["BackupRetentionPeriod"]) == (
            spec.multi_az, spec.deletion_protection, spec.backup_retention_days)
        # RDS cannot replicate a source whose password it manages: a generated secret, by dynamic reference.
        assert "ManageMasterUserPassword" not in writer
        assert "resolve:secretsmanager" in str(writer["MasterUserPassword"])
        assert len(databases) == 1 + spec.read_replicas
    else:
        assert not databases
    groups = resources(template, "AWS::ElastiCache::ReplicationGroup")
    if stage.redis:
        redis, = map(props, groups.values())
        assert redis["NumCacheClusters"] == 1 + stage.redis.replicas
        assert redis["AutomaticFailoverEnabled"] is redis["MultiAZEnabled"] is (stage.redis.replicas > 0)
    else:
        assert not groups
    subscription, = resources(template, "AWS::SNS::Subscription").values()
    assert props(subscription)["Endpoint"] == stage.alarm_email


@pytest.mark.parametrize("name", STAGES)
def test_queue_has_a_dead_letter_queue(name):
    template = stage_template(STAGE_FILE, name)
    redrive = props(template["Resources"]["WorkerQueue"])["RedrivePolicy"]
    assert logical_id(redrive["deadLetterTargetArn"]) == "WorkerDeadLetterQueue"
    assert 1 <= redrive["maxReceiveCount"] <= 100  # sqsd's MaxRetries range


def test_load_balancer_alarms_wait_for_the_load_balancer():
    template = stage_template(STAGE_FILE, "production")
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    on_lb = {name for name, alarm in alarms.items() if "LoadBalancer" in json.dumps(props(alarm))}
    assert on_lb and all(alarms[name].get("Condition") == "HasLoadBalancer" for name in on_lb)
    assert template["Parameters"]["LoadBalancerFullName"]["Default"] == ""
    watched = {props(a).get("MetricName") for a in alarms.values()} | {
        q["MetricStat"]["Metric"]["MetricName"] for a in alarms.values() for q in props(a).get("Metrics", [])
        if "MetricStat" in q}
    assert {"HTTPCode_Target_5XX_Count", "TargetResponseTime", "ApproximateAgeOfOldestMessage",
            "ApproximateNumberOfMessagesVisible", "CPUUtilization", "FreeStorageSpace", "ReplicaLag",
            "DatabaseMemoryUsagePercentage"} <= watched


def test_stack_names_are_distinct_per_group_and_stage():
    names = {network_stack_name(STAGE_FILE.application, g) for g in GROUPS}
    names |= {stage_stack_name(STAGE_FILE.application, s) for s in STAGES}
    assert len(names) == len(GROUPS) + len(STAGES)


def test_unknown_isolation_group_is_one_line():
    with pytest.raises(StageFileError) as caught:
        network_template(STAGE_FILE, "nowhere")
    assert str(caught.value).endswith(
        f"eb_tools.yaml: isolation: 'nowhere': no stage has this isolation group (defined: {', '.join(GROUPS)})")
