"""The local cloud's CloudFormation resource types are created for real, or refused loudly.

One small template per AWS service family, created as `eb_tools provision` creates
stacks (a change set, executed; one family through CreateStack), then every
property read back through the service's own API. Each AWS rule, and each property
the local cloud does not apply, must fail the resource with an error naming it,
whether the stack engine answers the request with the error or rolls the stack back.
"""
from __future__ import annotations

import json
import string
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.cloud import cfn_stacks
from eb_tools.cloud.cfn_resources import register
from eb_tools.cloud.server import LocalCloud
from tests.cloud_clients import local_client

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CloudFront's managed cache policy
FAILED = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED")
ASSUME_EC2 = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def local_cloud() -> Iterator[LocalCloud]:
    register()
    cfn_stacks.register()  # change sets that compute Outputs, which moto's leave out
    server = LocalCloud().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def aws(local_cloud: LocalCloud) -> Callable[[str], Any]:
    return lambda service: local_client(service, local_cloud.url)


@pytest.fixture(scope="module")
def cfn(aws: Callable[[str], Any]) -> Any:
    return aws("cloudformation")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _finished(cfn: Any, stack: str) -> dict[str, Any]:
    return wait_until(lambda: (s := cfn.describe_stacks(StackName=stack)["Stacks"][0])["StackStatus"].endswith(
        ("_COMPLETE", "_FAILED")) and s, 20, f"stack {stack} to finish")


def _reasons(cfn: Any, stack: str) -> str:
    return "\n".join(f"{e['LogicalResourceId']} {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}"
                     for e in cfn.describe_stack_events(StackName=stack)["StackEvents"])


def _execute(cfn: Any, stack: str, template: dict[str, Any], kind: str) -> dict[str, Any]:
    name = unique("cs")
    cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType=kind, TemplateBody=json.dumps(template),
                          Capabilities=["CAPABILITY_IAM"])
    wait_until(lambda: cfn.describe_change_set(StackName=stack, ChangeSetName=name)["Status"]
               not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"), 10, f"change set {name}")
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    return _finished(cfn, stack)


def deploy(cfn: Any, template: dict[str, Any], stack: str | None = None, kind: str = "CREATE") -> dict[str, str]:
    """Create (or update) a stack through a change set; its outputs, once it succeeded."""
    stack = stack or unique("res")
    description = _execute(cfn, stack, template, kind)
    assert description["StackStatus"] == f"{kind}_COMPLETE", _reasons(cfn, stack)
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}


def refusal(cfn: Any, template: dict[str, Any], stack: str | None = None, kind: str = "CREATE") -> str:
    """The error a stack operation that must fail gives: answered to the request, or in the events of a
    stack left failed or rolled back."""
    stack = stack or unique("bad")
    try:
        description = _execute(cfn, stack, template, kind)
    except ClientError as error:
        return str(error)
    assert description["StackStatus"] in FAILED, description["StackStatus"]
    return _reasons(cfn, stack)


def resources(**entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: {"Type": kind, "Properties": properties} for name, (kind, properties) in entries.items()}


def getatt(name: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, attribute]}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def network() -> dict[str, Any]:
    """A VPC with two private subnets in two zones and a security group, for the data stores."""
    return resources(
        Vpc=("AWS::EC2::VPC", {"CidrBlock": "10.9.0.0/16"}),
        SubnetA=("AWS::EC2::Subnet", {"VpcId": ref("Vpc"), "CidrBlock": "10.9.1.0/24",
                                      "AvailabilityZone": "us-east-1a"}),
        SubnetB=("AWS::EC2::Subnet", {"VpcId": ref("Vpc"), "CidrBlock": "10.9.2.0/24",
                                      "AvailabilityZone": "us-east-1b"}),
        DataGroup=("AWS::EC2::SecurityGroup", {"GroupDescription": "data stores", "VpcId": ref("Vpc")}))


# --- S3 -------------------------------------------------------------------------------------------------------------

def test_bucket_applies_every_configuration_and_its_policy(cfn, aws):
    name, logs = unique("uploads"), unique("logs")
    template = {"Resources": resources(
        Logs=("AWS::S3::Bucket", {"BucketName": logs}),
        Uploads=("AWS::S3::Bucket", {
            "BucketName": name,
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {"Rules": [{
                "Id": "old-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]}]},
            "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["POST"], "AllowedOrigins": ["https://app.example"],
                                                 "AllowedHeaders": ["*"], "MaxAge": 3000}]},
            "LoggingConfiguration": {"DestinationBucketName": ref("Logs"), "LogFilePrefix": "uploads/"},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "Tags": [{"Key": "stage", "Value": "test"}]}),
        TlsOnly=("AWS::S3::BucketPolicy", {"Bucket": ref("Uploads"), "PolicyDocument": {
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [getatt("Uploads", "Arn")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}})),
        "Outputs": {"Arn": {"Value": getatt("Uploads", "Arn")}, "Name": {"Value": ref("Uploads")},
                    "Domain": {"Value": getatt("Uploads", "DomainName")},
                    "Regional": {"Value": getatt("Uploads", "RegionalDomainName")}}}
    assert deploy(cfn, template) == {"Arn": f"arn:aws:s3:::{name}", "Name": name, "Domain": f"{name}.s3.amazonaws.com",
                                     "Regional": f"{name}.s3.us-east-1.amazonaws.com"}
    s3 = aws("s3")
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert rule["ID"] == "old-versions" and rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rule["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"] == [{
        "AllowedHeaders": ["*"], "AllowedMethods": ["POST"], "AllowedOrigins": ["https://app.example"],
        "MaxAgeSeconds": 3000}]
    assert s3.get_bucket_logging(Bucket=name)["LoggingEnabled"] == {"TargetBucket": logs, "TargetPrefix": "uploads/"}
    assert s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"] == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "stage", "Value": "test"}]
    policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    assert policy["Statement"][0]["Resource"] == [f"arn:aws:s3:::{name}"]
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_configuration_updates_in_place(cfn, aws):
    stack, name = unique("cors"), unique("assets")

    def template(origin: str) -> dict[str, Any]:
        statement = {"Sid": origin.split("//")[1].split(".")[0], "Effect": "Deny", "Principal": "*",
                     "Action": "s3:*", "Resource": f"arn:aws:s3:::{name}/*",
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        return {"Resources": resources(
            Assets=("AWS::S3::Bucket", {"BucketName": name, "CorsConfiguration": {
                "CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": [origin]}]}}),
            TlsOnly=("AWS::S3::BucketPolicy", {"Bucket": ref("Assets"), "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [statement]}}))}

    deploy(cfn, template("https://old.example"), stack)
    deploy(cfn, template("https://new.example"), stack, kind="UPDATE")
    s3 = aws("s3")
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"][0]["AllowedOrigins"] == ["https://new.example"]
    assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"][0]["Sid"] == "new"
    without_cors = template("https://new.example")
    del without_cors["Resources"]["Assets"]["Properties"]["CorsConfiguration"]
    assert "does not remove CorsConfiguration" in refusal(cfn, without_cors, stack, kind="UPDATE")
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"][0]["AllowedOrigins"] == ["https://new.example"]


@pytest.mark.parametrize("properties, error", [
    ({"WebsiteConfiguration": {"IndexDocument": "index.html"}},
     "Encountered unsupported property WebsiteConfiguration"),
    ({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "TagFilters": [{"Key": "a", "Value": "b"}]}]}},
     "Encountered unsupported property LifecycleConfiguration.Rules[].TagFilters"),
    ({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "ExpirationInDays": 30,
                                            "ExpiredObjectDeleteMarker": True}]}},
     "takes ExpirationInDays or ExpiredObjectDeleteMarker, not both"),
    ({"CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"]}]}},
     "Property CorsConfiguration.CorsRules[].AllowedOrigins cannot be empty"),
])
def test_bucket_property_not_applied_fails_the_resource(cfn, aws, properties, error):
    name = unique("refused")
    reason = refusal(cfn, {"Resources": resources(Bucket=("AWS::S3::Bucket", {"BucketName": name, **properties}))})
    assert error in reason
    with pytest.raises(ClientError, match="Not Found|NoSuchBucket|404"):
        aws("s3").head_bucket(Bucket=name)  # nothing half-configured is left behind


# --- CloudFront -----------------------------------------------------------------------------------------------------

def distribution(origin_control: Any, certificate: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Enabled": True, "HttpVersion": "http2and3", "PriceClass": "PriceClass_100", "Comment": "uploads",
            "Origins": [{"Id": "uploads", "DomainName": getatt("Uploads", "RegionalDomainName"), "S3OriginConfig": {},
                         "OriginAccessControlId": origin_control}],
            "DefaultCacheBehavior": {"TargetOriginId": "uploads", "ViewerProtocolPolicy": "redirect-to-https",
                                     "Compress": True, "CachePolicyId": CACHING_OPTIMIZED},
            "CacheBehaviors": [{"PathPattern": "variants/*", "TargetOriginId": "uploads",
                                "ViewerProtocolPolicy": "https-only", "Compress": True,
                                "CachePolicyId": CACHING_OPTIMIZED}],
            "Logging": {"Bucket": getatt("Logs", "DomainName"), "Prefix": "cdn/"},
            "ViewerCertificate": certificate or {"CloudFrontDefaultCertificate": True}}


def test_distribution_with_origin_access_control_is_read_back(cfn, aws):
    template = {"Resources": resources(
        Uploads=("AWS::S3::Bucket", {}), Logs=("AWS::S3::Bucket", {}),
        Control=("AWS::CloudFront::OriginAccessControl", {"OriginAccessControlConfig": {
            "Name": unique("oac"), "OriginAccessControlOriginType": "s3", "SigningBehavior": "always",
            "SigningProtocol": "sigv4"}}),
        Cdn=("AWS::CloudFront::Distribution", {"DistributionConfig": distribution(getatt("Control", "Id"))})),
        "Outputs": {"Ref": {"Value": ref("Cdn")}, "Id": {"Value": getatt("Cdn", "Id")},
                    "Domain": {"Value": getatt("Cdn", "DomainName")}, "Control": {"Value": ref("Control")},
                    "Bucket": {"Value": getatt("Uploads", "RegionalDomainName")},
                    "Logs": {"Value": getatt("Logs", "DomainName")}}}
    out = deploy(cfn, template)
    cloudfront = aws("cloudfront")
    found = cloudfront.get_distribution(Id=out["Ref"])["Distribution"]
    assert out["Id"] == out["Ref"] and found["DomainName"] == out["Domain"].lower()
    config = found["DistributionConfig"]
    [origin] = config["Origins"]["Items"]
    assert origin["DomainName"] == out["Bucket"] and origin["OriginAccessControlId"] == out["Control"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    default = config["DefaultCacheBehavior"]
    assert (default["ViewerProtocolPolicy"], default["Compress"], default["CachePolicyId"]) == (
        "redirect-to-https", True, CACHING_OPTIMIZED)
    [behavior] = config["CacheBehaviors"]["Items"]
    assert (behavior["PathPattern"], behavior["ViewerProtocolPolicy"], behavior["Compress"]) == (
        "variants/*", "https-only", True)
    assert (config["Enabled"], config["HttpVersion"], config["PriceClass"]) == (True, "http2and3", "PriceClass_100")
    assert config["Logging"] == {"Enabled": True, "IncludeCookies": False, "Bucket": out["Logs"], "Prefix": "cdn/"}
    assert config["ViewerCertificate"]["CloudFrontDefaultCertificate"] is True
    control = cloudfront.get_origin_access_control(Id=out["Control"])["OriginAccessControl"]
    assert control["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert control["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"


@pytest.mark.parametrize("control, certificate, error", [
    ("E2QWRUHEXAMPLE", None, "The specified origin access control does not exist."),
    ("", {"AcmCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/1234", "SslSupportMethod": "sni-only"},
     "isn't in us-east-1 region"),
])
def test_distribution_refuses_what_cloudfront_refuses(cfn, control, certificate, error):
    template = {"Resources": resources(
        Uploads=("AWS::S3::Bucket", {}), Logs=("AWS::S3::Bucket", {}),
        Cdn=("AWS::CloudFront::Distribution", {"DistributionConfig": distribution(control, certificate)}))}
    assert error in refusal(cfn, template)


# --- Secrets Manager ------------------------------------------------------------------------------------------------

def test_generated_secrets_and_their_dynamic_references(cfn, aws):
    name = unique("app/key")
    template = {"Resources": resources(
        Token=("AWS::SecretsManager::Secret", {"Description": "redis auth", "GenerateSecretString": {
            "PasswordLength": 40, "ExcludePunctuation": True, "ExcludeCharacters": "0Oo"}}),
        Login=("AWS::SecretsManager::Secret", {"Name": name, "GenerateSecretString": {
            "SecretStringTemplate": json.dumps({"username": "app"}), "GenerateStringKey": "password"}}),
        User=("AWS::SSM::Parameter", {
            "Name": f"/{name}/user", "Type": "String",
            "Value": {"Fn::Sub": "{{resolve:secretsmanager:${Login}:SecretString:username}}"}}),
        Whole=("AWS::SSM::Parameter", {"Name": f"/{name}/token", "Type": "String",
                                       "Value": {"Fn::Sub": "{{resolve:secretsmanager:${Token}}}"}})),
        "Outputs": {"Token": {"Value": ref("Token")}, "Login": {"Value": getatt("Login", "Id")}}}
    out = deploy(cfn, template)
    secrets, ssm = aws("secretsmanager"), aws("ssm")
    assert out["Token"].startswith("arn:aws:secretsmanager:us-east-1:") and f":secret:{name}-" in out["Login"]
    token = secrets.get_secret_value(SecretId=out["Token"])["SecretString"]
    assert len(token) == 40 and not set(token) & set(string.punctuation + "0Oo")
    assert secrets.describe_secret(SecretId=out["Token"])["Description"] == "redis auth"
    login = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    assert login["username"] == "app" and len(login["password"]) == 32
    assert ssm.get_parameter(Name=f"/{name}/user")["Parameter"]["Value"] == "app"
    assert ssm.get_parameter(Name=f"/{name}/token")["Parameter"]["Value"] == token


# --- ElastiCache ----------------------------------------------------------------------------------------------------

def test_replication_group_is_read_back_with_its_members(cfn, aws):
    template = {"Resources": {**network(), **resources(
        Auth=("AWS::SecretsManager::Secret", {"GenerateSecretString": {"PasswordLength": 64,
                                                                       "ExcludePunctuation": True}}),
        Subnets=("AWS::ElastiCache::SubnetGroup", {"Description": "cache", "SubnetIds": [ref("SubnetA"),
                                                                                         ref("SubnetB")]}),
        Redis=("AWS::ElastiCache::ReplicationGroup", {
            "ReplicationGroupDescription": "sessions", "Engine": "redis", "EngineVersion": "7.1",
            "CacheNodeType": "cache.t4g.small", "NumCacheClusters": 2, "AutomaticFailoverEnabled": True,
            "MultiAZEnabled": True, "TransitEncryptionEnabled": True, "AtRestEncryptionEnabled": True,
            "AuthToken": {"Fn::Sub": "{{resolve:secretsmanager:${Auth}:SecretString}}"},
            "CacheSubnetGroupName": ref("Subnets"), "SecurityGroupIds": [getatt("DataGroup", "GroupId")],
            "Port": 6380, "SnapshotRetentionLimit": 7, "AutoMinorVersionUpgrade": True}))},
        "Outputs": {"Id": {"Value": ref("Redis")}, "Primary": {"Value": getatt("Redis", "PrimaryEndPoint.Address")},
                    "Port": {"Value": getatt("Redis", "PrimaryEndPoint.Port")},
                    "Reader": {"Value": getatt("Redis", "ReaderEndPoint.Address")},
                    "Group": {"Value": ref("DataGroup")}, "Subnets": {"Value": ref("Subnets")}}}
    out = deploy(cfn, template)  # the token is valid only if the reference was resolved
    elasticache = aws("elasticache")
    [group] = elasticache.describe_replication_groups(ReplicationGroupId=out["Id"])["ReplicationGroups"]
    assert (group["AutomaticFailover"], group["MultiAZ"], group["CacheNodeType"]) == (
        "enabled", "enabled", "cache.t4g.small")
    assert group["TransitEncryptionEnabled"] and group["AtRestEncryptionEnabled"] and group["AuthTokenEnabled"]
    assert group["SnapshotRetentionLimit"] == 7 and len(group["MemberClusters"]) == 2
    assert group["AutoMinorVersionUpgrade"] is True
    [node_group] = group["NodeGroups"]
    assert node_group["PrimaryEndpoint"] == {"Address": out["Primary"], "Port": 6380} and out["Port"] == "6380"
    assert node_group["ReaderEndpoint"] == {"Address": out["Reader"], "Port": 6380}
    for member in group["MemberClusters"]:
        [cluster] = elasticache.describe_cache_clusters(CacheClusterId=member)["CacheClusters"]
        assert (cluster["ReplicationGroupId"], cluster["EngineVersion"], cluster["CacheSubnetGroupName"]) == (
            out["Id"], "7.1", out["Subnets"])
        assert cluster["SecurityGroups"] == [{"SecurityGroupId": out["Group"], "Status": "active"}]


@pytest.mark.parametrize("properties, error", [
    ({"NumCacheClusters": 1, "AutomaticFailoverEnabled": True},
     "When using automatic failover, there must be at least 2 cache clusters in the replication group."),
    ({"NumCacheClusters": 2, "AuthToken": "a-valid-looking-token-0123456789"},
     "The AUTH token is only supported when encryption-in-transit is enabled"),
    ({"NumCacheClusters": 2, "TransitEncryptionEnabled": True, "AuthToken": "has@and/which-redis-refuses"},
     "Invalid AuthToken provided."),
])
def test_replication_group_rules_are_aws_errors(cfn, properties, error):
    template = {"Resources": resources(Redis=("AWS::ElastiCache::ReplicationGroup", {
        "ReplicationGroupDescription": "sessions", "CacheNodeType": "cache.t4g.small", **properties}))}
    assert error in refusal(cfn, template)


# --- RDS ------------------------------------------------------------------------------------------------------------

def test_database_instances_are_read_back(cfn, aws):
    template = {"Resources": {**network(), **resources(
        Subnets=("AWS::RDS::DBSubnetGroup", {"DBSubnetGroupDescription": "db", "SubnetIds": [ref("SubnetA"),
                                                                                             ref("SubnetB")]}),
        Monitoring=("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"]}),
        Maria=("AWS::RDS::DBInstance", {
            "Engine": "mariadb", "EngineVersion": "11.4.5", "DBInstanceClass": "db.t4g.micro",
            "AllocatedStorage": "20", "MaxAllocatedStorage": 100, "StorageEncrypted": True, "MasterUsername": "app",
            "ManageMasterUserPassword": True, "DBSubnetGroupName": ref("Subnets"),
            "VPCSecurityGroups": [getatt("DataGroup", "GroupId")], "BackupRetentionPeriod": 7, "MultiAZ": True,
            "DeletionProtection": True, "PubliclyAccessible": False, "MonitoringInterval": 60,
            "MonitoringRoleArn": getatt("Monitoring", "Arn"), "EnableCloudwatchLogsExports": ["error", "slowquery"]}),
        Writer=("AWS::RDS::DBInstance", {
            "Engine": "mysql", "EngineVersion": "8.0.40", "DBInstanceClass": "db.t4g.micro", "AllocatedStorage": 20,
            "MasterUsername": "app", "MasterUserPassword": "a-long-password", "DBSubnetGroupName": ref("Subnets"),
            "VPCSecurityGroups": [ref("DataGroup")], "StorageEncrypted": True}),
        Reader=("AWS::RDS::DBInstance", {"SourceDBInstanceIdentifier": ref("Writer"),
                                         "DBInstanceClass": "db.t4g.micro"}))},
        "Outputs": {"Maria": {"Value": ref("Maria")}, "Address": {"Value": getatt("Maria", "Endpoint.Address")},
                    "Port": {"Value": getatt("Maria", "Endpoint.Port")},
                    "Secret": {"Value": getatt("Maria", "MasterUserSecret.SecretArn")},
                    "Writer": {"Value": ref("Writer")}, "Reader": {"Value": ref("Reader")},
                    "Group": {"Value": ref("DataGroup")}, "Monitoring": {"Value": getatt("Monitoring", "Arn")}}}
    out = deploy(cfn, template)
    rds, secrets = aws("rds"), aws("secretsmanager")
    [maria] = rds.describe_db_instances(DBInstanceIdentifier=out["Maria"])["DBInstances"]
    assert (maria["Engine"], maria["EngineVersion"], maria["Endpoint"]["Address"], str(maria["Endpoint"]["Port"])) == (
        "mariadb", "11.4.5", out["Address"], out["Port"])
    assert [g["VpcSecurityGroupId"] for g in maria["VpcSecurityGroups"]] == [out["Group"]]
    assert (maria["StorageEncrypted"], maria["MaxAllocatedStorage"], maria["BackupRetentionPeriod"]) == (True, 100, 7)
    assert (maria["MultiAZ"], maria["DeletionProtection"], maria["PubliclyAccessible"]) == (True, True, False)
    assert (maria["MonitoringInterval"], maria["MonitoringRoleArn"]) == (60, out["Monitoring"])
    assert maria["EnabledCloudwatchLogsExports"] == ["error", "slowquery"]
    assert maria["MasterUserSecret"]["SecretArn"] == out["Secret"]
    credentials = json.loads(secrets.get_secret_value(SecretId=out["Secret"])["SecretString"])
    assert credentials["username"] == "app" and len(credentials["password"]) >= 16
    [reader] = rds.describe_db_instances(DBInstanceIdentifier=out["Reader"])["DBInstances"]
    assert reader["ReadReplicaSourceDBInstanceIdentifier"] == out["Writer"] and reader["Engine"] == "mysql"
    assert [g["VpcSecurityGroupId"] for g in reader["VpcSecurityGroups"]] == [out["Group"]]
    [writer] = rds.describe_db_instances(DBInstanceIdentifier=out["Writer"])["DBInstances"]
    assert writer["ReadReplicaDBInstanceIdentifiers"] == [out["Reader"]] and "MasterUserSecret" not in writer


def test_database_refusals(cfn):
    managed = {"Engine": "mariadb", "EngineVersion": "11.4.5", "DBInstanceClass": "db.t4g.micro",
               "MasterUsername": "app", "ManageMasterUserPassword": True}
    without_version = {key: value for key, value in managed.items() if key != "EngineVersion"}
    assert "EngineVersion is required" in refusal(cfn, {"Resources": resources(
        Db=("AWS::RDS::DBInstance", without_version))})
    reason = refusal(cfn, {"Resources": resources(
        Db=("AWS::RDS::DBInstance", managed),
        Replica=("AWS::RDS::DBInstance", {"SourceDBInstanceIdentifier": ref("Db"),
                                          "DBInstanceClass": "db.t4g.micro"}))})
    assert ("Creating read replicas for source instance with engine mariadb where ManageMasterUserPassword "
            "is enabled is not supported.") in reason


# --- SNS, CloudWatch, SQS (through CreateStack) ---------------------------------------------------------------------

def test_alarms_notify_a_topic_about_the_queues(cfn, aws):
    stack = unique("ops")
    expression = [
        {"Id": "rate", "Expression": "100*errors/requests", "Label": "5xx rate", "ReturnData": True},
        *({"Id": metric_id, "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
            "Namespace": "AWS/ApplicationELB", "MetricName": metric,
            "Dimensions": [{"Name": "LoadBalancer", "Value": "app/web/1"}]}}}
          for metric_id, metric in (("errors", "HTTPCode_Target_5XX_Count"), ("requests", "RequestCount")))]
    template = {"Resources": resources(
        Alarms=("AWS::SNS::Topic", {"DisplayName": "alarms"}),
        Mail=("AWS::SNS::Subscription", {"TopicArn": ref("Alarms"), "Protocol": "email",
                                         "Endpoint": "ops@example.com"}),
        Dead=("AWS::SQS::Queue", {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}),
        Work=("AWS::SQS::Queue", {"VisibilityTimeout": 300, "KmsMasterKeyId": "alias/aws/sqs", "RedrivePolicy": {
            "deadLetterTargetArn": getatt("Dead", "Arn"), "maxReceiveCount": 5}}),
        Oldest=("AWS::CloudWatch::Alarm", {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage", "Statistic": "Maximum",
            "Dimensions": [{"Name": "QueueName", "Value": getatt("Work", "QueueName")}], "Period": 60,
            "EvaluationPeriods": 5, "Threshold": 600, "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [ref("Alarms")], "TreatMissingData": "notBreaching"}),
        Errors=("AWS::CloudWatch::Alarm", {"Metrics": expression, "EvaluationPeriods": 3, "Threshold": 5,
                                           "ComparisonOperator": "GreaterThanThreshold",
                                           "AlarmActions": [ref("Alarms")]})),
        "Outputs": {"Topic": {"Value": ref("Alarms")}, "Mail": {"Value": ref("Mail")}, "Work": {"Value": ref("Work")},
                    "Dead": {"Value": getatt("Dead", "Arn")}, "Oldest": {"Value": ref("Oldest")},
                    "Errors": {"Value": ref("Errors")}}}
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    description = _finished(cfn, stack)
    assert description["StackStatus"] == "CREATE_COMPLETE", _reasons(cfn, stack)
    out = {o["OutputKey"]: o["OutputValue"] for o in description["Outputs"]}
    sns, cloudwatch, sqs = aws("sns"), aws("cloudwatch"), aws("sqs")
    assert sns.get_topic_attributes(TopicArn=out["Topic"])["Attributes"]["DisplayName"] == "alarms"
    [mail] = sns.list_subscriptions_by_topic(TopicArn=out["Topic"])["Subscriptions"]
    assert (mail["SubscriptionArn"], mail["Protocol"], mail["Endpoint"]) == (out["Mail"], "email", "ops@example.com")
    assert sns.get_subscription_attributes(SubscriptionArn=out["Mail"])["Attributes"]["PendingConfirmation"] == "true"
    work = sqs.get_queue_attributes(QueueUrl=out["Work"], AttributeNames=["All"])["Attributes"]
    assert json.loads(work["RedrivePolicy"]) == {"deadLetterTargetArn": out["Dead"], "maxReceiveCount": 5}
    assert (work["VisibilityTimeout"], work["KmsMasterKeyId"], work["SqsManagedSseEnabled"]) == (
        "300", "alias/aws/sqs", "false")
    dead = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=out["Dead"].split(":")[-1])["QueueUrl"],
                                    AttributeNames=["All"])["Attributes"]
    assert (dead["MessageRetentionPeriod"], dead["SqsManagedSseEnabled"]) == ("1209600", "true")
    [oldest] = cloudwatch.describe_alarms(AlarmNames=[out["Oldest"]])["MetricAlarms"]
    assert oldest["Dimensions"] == [{"Name": "QueueName", "Value": out["Work"].rsplit("/", 1)[1]}]
    assert (oldest["MetricName"], oldest["Threshold"], oldest["AlarmActions"]) == (
        "ApproximateAgeOfOldestMessage", 600.0, [out["Topic"]])
    [errors] = cloudwatch.describe_alarms(AlarmNames=[out["Errors"]])["MetricAlarms"]
    assert [query["Id"] for query in errors["Metrics"]] == ["rate", "errors", "requests"]
    assert errors["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "LoadBalancer",
                                                                           "Value": "app/web/1"}]


def test_queue_with_two_encryptions_is_refused(cfn):
    template = {"Resources": resources(Work=("AWS::SQS::Queue", {"SqsManagedSseEnabled": True,
                                                                 "KmsMasterKeyId": "alias/aws/sqs"}))}
    assert "SqsManagedSseEnabled and KmsMasterKeyId" in refusal(cfn, template)


def test_update_the_local_cloud_does_not_apply_fails_loudly(cfn, aws):
    stack = unique("topic")
    deploy(cfn, {"Resources": resources(Alarms=("AWS::SNS::Topic", {"DisplayName": "before"}))}, stack)
    reason = refusal(cfn, {"Resources": resources(Alarms=("AWS::SNS::Topic", {"DisplayName": "after"}))}, stack,
                     kind="UPDATE")
    assert "does not update this type in place" in reason


# --- IAM ------------------------------------------------------------------------------------------------------------

def test_roles_profiles_and_policies_are_read_back(cfn, aws):
    send = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                    "Resource": "arn:aws:sqs:us-east-1:123456789012:work"}]}
    read = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::uploads/*"}]}
    template = {"Resources": resources(
        Web=("AWS::IAM::Role", {"AssumeRolePolicyDocument": ASSUME_EC2, "Policies": [
            {"PolicyName": "queue", "PolicyDocument": send}],
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AWSElasticBeanstalkWebTier"]}),
        Profile=("AWS::IAM::InstanceProfile", {"Roles": [ref("Web")]}),
        Uploads=("AWS::IAM::ManagedPolicy", {"Roles": [ref("Web")], "PolicyDocument": read})),
        "Outputs": {"Role": {"Value": ref("Web")}, "Profile": {"Value": ref("Profile")},
                    "ProfileArn": {"Value": getatt("Profile", "Arn")}, "Policy": {"Value": ref("Uploads")}}}
    out = deploy(cfn, template)
    iam = aws("iam")
    assert iam.get_role_policy(RoleName=out["Role"], PolicyName="queue")["PolicyDocument"] == send
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=out["Role"])["AttachedPolicies"]}
    assert attached == {"arn:aws:iam::aws:policy/AWSElasticBeanstalkWebTier", out["Policy"]}
    assert iam.get_policy_version(PolicyArn=out["Policy"], VersionId="v1")["PolicyVersion"]["Document"] == read
    profile = iam.get_instance_profile(InstanceProfileName=out["Profile"])["InstanceProfile"]
    assert profile["Arn"] == out["ProfileArn"] and [r["RoleName"] for r in profile["Roles"]] == [out["Role"]]


def test_missing_managed_policy_fails_the_role(cfn):
    template = {"Resources": resources(Web=("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": ASSUME_EC2, "ManagedPolicyArns": ["arn:aws:iam::aws:policy/NoSuchPolicy"]}))}
    assert "does not exist or is not attachable" in refusal(cfn, template)


# --- EC2 ------------------------------------------------------------------------------------------------------------

def test_network_is_read_back(cfn, aws):
    template = {"Resources": resources(
        Vpc=("AWS::EC2::VPC", {"CidrBlock": "10.7.0.0/16", "EnableDnsHostnames": True, "EnableDnsSupport": True,
                               "Tags": [{"Key": "Name", "Value": "shared"}]}),
        Public=("AWS::EC2::Subnet", {"VpcId": ref("Vpc"), "CidrBlock": "10.7.1.0/24", "AvailabilityZone": "us-east-1a",
                                     "MapPublicIpOnLaunch": True}),
        Private=("AWS::EC2::Subnet", {"VpcId": ref("Vpc"), "CidrBlock": "10.7.2.0/24",
                                      "AvailabilityZone": "us-east-1b"}),
        Gateway=("AWS::EC2::InternetGateway", {"Tags": [{"Key": "Name", "Value": "shared"}]}),
        Attachment=("AWS::EC2::VPCGatewayAttachment", {"VpcId": ref("Vpc"), "InternetGatewayId": ref("Gateway")}),
        PublicRoutes=("AWS::EC2::RouteTable", {"VpcId": ref("Vpc")}),
        Internet=("AWS::EC2::Route", {"RouteTableId": ref("PublicRoutes"), "DestinationCidrBlock": "0.0.0.0/0",
                                      "GatewayId": ref("Gateway")}),
        PublicAssociation=("AWS::EC2::SubnetRouteTableAssociation", {"RouteTableId": ref("PublicRoutes"),
                                                                     "SubnetId": ref("Public")}),
        NatAddress=("AWS::EC2::EIP", {"Domain": "vpc"}),
        Nat=("AWS::EC2::NatGateway", {"AllocationId": getatt("NatAddress", "AllocationId"), "SubnetId": ref("Public")}),
        PrivateRoutes=("AWS::EC2::RouteTable", {"VpcId": ref("Vpc")}),
        Outbound=("AWS::EC2::Route", {"RouteTableId": ref("PrivateRoutes"), "DestinationCidrBlock": "0.0.0.0/0",
                                      "NatGatewayId": ref("Nat")}),
        S3Endpoint=("AWS::EC2::VPCEndpoint", {"VpcId": ref("Vpc"), "ServiceName": "com.amazonaws.us-east-1.s3",
                                              "VpcEndpointType": "Gateway", "RouteTableIds": [ref("PrivateRoutes")]})),
        "Outputs": {"Vpc": {"Value": ref("Vpc")}, "Public": {"Value": ref("Public")},
                    "Zone": {"Value": getatt("Public", "AvailabilityZone")}, "Address": {"Value": ref("NatAddress")},
                    "Nat": {"Value": ref("Nat")}, "Gateway": {"Value": ref("Gateway")},
                    "Private": {"Value": ref("PrivateRoutes")}, "Endpoint": {"Value": ref("S3Endpoint")}}}
    out = deploy(cfn, template)
    ec2 = aws("ec2")
    assert ec2.describe_vpc_attribute(VpcId=out["Vpc"], Attribute="enableDnsHostnames")["EnableDnsHostnames"] == {
        "Value": True}
    assert {"Key": "Name", "Value": "shared"} in ec2.describe_vpcs(VpcIds=[out["Vpc"]])["Vpcs"][0]["Tags"]
    [public] = ec2.describe_subnets(SubnetIds=[out["Public"]])["Subnets"]
    assert public["MapPublicIpOnLaunch"] and public["AvailabilityZone"] == out["Zone"] == "us-east-1a"
    [gateway] = ec2.describe_internet_gateways(InternetGatewayIds=[out["Gateway"]])["InternetGateways"]
    assert gateway["Attachments"][0]["VpcId"] == out["Vpc"] and {"Key": "Name", "Value": "shared"} in gateway["Tags"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [out["Vpc"]]}])["RouteTables"]
    routes = {(r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId"),
               r.get("GatewayId") or r.get("NatGatewayId")) for table in tables for r in table["Routes"]}
    assert ("0.0.0.0/0", out["Gateway"]) in routes and ("0.0.0.0/0", out["Nat"]) in routes
    assert any(target == out["Endpoint"] for _, target in routes)  # the S3 prefix list, through the endpoint
    associated = {a.get("SubnetId") for table in tables for a in table["Associations"]}
    assert out["Public"] in associated
    [nat] = ec2.describe_nat_gateways(NatGatewayIds=[out["Nat"]])["NatGateways"]
    assert nat["NatGatewayAddresses"][0]["PublicIp"] == out["Address"]
    [endpoint] = ec2.describe_vpc_endpoints(VpcEndpointIds=[out["Endpoint"]])["VpcEndpoints"]
    assert (endpoint["VpcEndpointType"], endpoint["ServiceName"], endpoint["RouteTableIds"]) == (
        "Gateway", "com.amazonaws.us-east-1.s3", [out["Private"]])


def test_security_group_chain_is_read_back(cfn, aws):
    template = {"Resources": {**network(), **resources(
        Balancer=("AWS::EC2::SecurityGroup", {"GroupDescription": "load balancer", "VpcId": ref("Vpc"),
                                              "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443,
                                                                        "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}),
        Instances=("AWS::EC2::SecurityGroup", {"GroupDescription": "web instances", "VpcId": ref("Vpc"),
                                               "SecurityGroupIngress": [{
                                                   "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                                                   "SourceSecurityGroupId": ref("Balancer"),
                                                   "Description": "from the load balancer"}],
                                               "SecurityGroupEgress": [{
                                                   "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
                                                   "DestinationSecurityGroupId": ref("DataGroup")}]}),
        DatabaseIn=("AWS::EC2::SecurityGroupIngress", {"GroupId": ref("DataGroup"), "IpProtocol": "tcp",
                                                       "FromPort": 3306, "ToPort": 3306,
                                                       "SourceSecurityGroupId": ref("Instances"),
                                                       "Description": "web instances"}),
        BalancerOut=("AWS::EC2::SecurityGroupEgress", {"GroupId": ref("Balancer"), "IpProtocol": "tcp",
                                                       "FromPort": 80, "ToPort": 80,
                                                       "DestinationSecurityGroupId": ref("Instances")}))},
        "Outputs": {name: {"Value": getatt(name, "GroupId")} for name in ("Balancer", "Instances", "DataGroup")}}
    out = deploy(cfn, template)
    groups = {g["GroupId"]: g for g in aws("ec2").describe_security_groups(GroupIds=list(out.values()))[
        "SecurityGroups"]}

    def pairs(permissions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(p["IpProtocol"], p.get("FromPort"), pair["GroupId"], pair.get("Description"))
                for p in permissions for pair in p["UserIdGroupPairs"]]

    instances, data, balancer = groups[out["Instances"]], groups[out["DataGroup"]], groups[out["Balancer"]]
    assert pairs(instances["IpPermissions"]) == [("tcp", 80, out["Balancer"], "from the load balancer")]
    # the SecurityGroupEgress property replaces EC2's default allow-all rule
    assert [p["IpRanges"] for p in instances["IpPermissionsEgress"]] == [[]]
    assert pairs(instances["IpPermissionsEgress"]) == [("tcp", 3306, out["DataGroup"], None)]
    assert pairs(data["IpPermissions"]) == [("tcp", 3306, out["Instances"], "web instances")]
    # a standalone egress rule is added to the default one, as in EC2
    assert pairs(balancer["IpPermissionsEgress"]) == [("tcp", 80, out["Instances"], None)]
    assert {"CidrIp": "0.0.0.0/0"} in [r for p in balancer["IpPermissionsEgress"] for r in p["IpRanges"]]


# --- SES ------------------------------------------------------------------------------------------------------------

def _identity(name: str) -> dict[str, Any]:
    return {"Resources": resources(Sender=("AWS::SES::EmailIdentity", {"EmailIdentity": name})),
            "Outputs": {"Identity": {"Value": ref("Sender")}}}


def test_an_address_identity_starts_unverified_as_in_ses(cfn, aws):
    """SES mails the address a link; until its owner follows it, the identity is pending, in both APIs."""
    address = f"{unique('sender')}@example.com"
    assert deploy(cfn, _identity(address))["Identity"] == address
    identity = aws("sesv2").get_email_identity(EmailIdentity=address)
    assert (identity["IdentityType"], identity["VerifiedForSendingStatus"], identity["VerificationStatus"]) == (
        "EMAIL_ADDRESS", False, "PENDING")
    ses = aws("ses")
    assert address in ses.list_identities(IdentityType="EmailAddress")["Identities"]
    attributes = ses.get_identity_verification_attributes(Identities=[address])["VerificationAttributes"]
    assert attributes[address]["VerificationStatus"] == "Pending"


def test_a_domain_identity_waits_for_its_dkim_records(cfn, aws):
    domain = f"{unique('mail')}.example.com"
    template = _identity(domain)
    template["Outputs"] |= {f"{kind}{n}": {"Value": getatt("Sender", f"DkimDNSToken{kind}{n}")}
                            for kind in ("Name", "Value") for n in (1, 2, 3)}
    out = deploy(cfn, template)
    identity = aws("sesv2").get_email_identity(EmailIdentity=domain)
    dkim, tokens = identity["DkimAttributes"], identity["DkimAttributes"]["Tokens"]
    assert (identity["IdentityType"], identity["VerifiedForSendingStatus"]) == ("DOMAIN", False)
    assert (dkim["Status"], dkim["SigningEnabled"], len(set(tokens))) == ("PENDING", True, 3)
    assert [out[f"Name{n}"] for n in (1, 2, 3)] == [f"{token}._domainkey.{domain}" for token in tokens]
    assert [out[f"Value{n}"] for n in (1, 2, 3)] == [f"{token}.dkim.amazonses.com" for token in tokens]
    assert domain in aws("ses").list_identities(IdentityType="Domain")["Identities"]


def test_deleting_the_stack_deletes_the_identity(cfn, aws):
    stack, address = unique("mail"), f"{unique('gone')}@example.com"
    deploy(cfn, _identity(address), stack)
    cfn.delete_stack(StackName=stack)
    with pytest.raises(ClientError, match="NotFoundException"):
        aws("sesv2").get_email_identity(EmailIdentity=address)


def test_identity_refusals(cfn, aws):
    address = f"{unique('taken')}@example.com"
    aws("sesv2").create_email_identity(EmailIdentity=address)
    assert f"Email identity {address} already exists" in refusal(cfn, _identity(address))
    template = _identity(f"{unique('other')}@example.com")
    template["Resources"]["Sender"]["Properties"]["MailFromAttributes"] = {"MailFromDomain": "bounce.example.com"}
    assert "Encountered unsupported property MailFromAttributes" in refusal(cfn, template)


def test_register_is_idempotent():
    from moto.cloudformation import parsing

    clean_json = parsing.clean_json
    register()
    assert parsing.clean_json is clean_json
