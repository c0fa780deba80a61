"""S3 buckets per asset class, and CloudFront in front of uploads and static assets.

Every bucket blocks public access, is encrypted, refuses plain HTTP and logs its
access to the logs bucket. Browsers upload to `uploads` with a presigned POST
(CORS allows exactly the stage's web origins, POST, no extra header) and read through CloudFront, which
alone may read the uploads and static buckets (origin access control, bound to
this distribution by aws:SourceArn). In the uploads bucket CloudFront reads only
SERVED_PREFIX, where the worker writes what it checked: a presigned form can
write its own key again until it expires, so that key is never served. The
uploads bucket is versioned: completion records the version the worker reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Join, Ref, Sub, Template
from troposphere.cloudfront import (
    CacheBehavior,
    DefaultCacheBehavior,
    Distribution,
    DistributionConfig,
    Logging,
    Origin,
    OriginAccessControl,
    OriginAccessControlConfig,
    S3OriginConfig,
    ViewerCertificate,
)
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    CorsConfiguration,
    CorsRules,
    LifecycleConfiguration,
    LifecycleRule,
    LifecycleRuleTransition,
    LoggingConfiguration,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from eb_tools.provision.common import RETAIN, keep_data, skip_checkov

# AWS managed cache policy "Managed-CachingOptimized" and response headers policy "Managed-SecurityHeadersPolicy".
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
STATIC_PATH = "static/*"
LOG_DAYS = 90
NONCURRENT_DAYS = 30
BACKUP_NONCURRENT_DAYS = 90
BACKUP_COLD_DAYS = 30
# A presigned POST is a multipart form: POST only, and no request header of the page's own. A fetch() of a
# FormData is a CORS "simple request" (POST, Content-Type multipart/form-data, no other header): no preflight.
# An XMLHttpRequest with upload progress listeners is always preflighted (XHR standard; MDN,
# XMLHttpRequest.upload), and its Access-Control-Request-Headers names only headers that are not
# CORS-safelisted: none, multipart/form-data being a safelisted Content-Type (Fetch standard). So the rule
# allows no header and exposes none: the page reads only the status (204).
UPLOAD_METHODS = ["POST"]
PREFLIGHT_SECONDS = 3000
NO_VERSIONING = "holds no originals: {what}; versioning would only keep dead copies"
# core/storage.py's prefixes of the uploads bucket: where presigned POSTs write, and the keys only the
# worker writes, which CloudFront serves.
INCOMING_PREFIX, SERVED_PREFIX = "uploads/", "variants/"


@dataclass(frozen=True)
class Buckets:
    uploads: Bucket
    backup: Bucket
    static: Bucket
    logs: Bucket
    distribution: Distribution


def build(template: Template, web_origins: Ref) -> Buckets:
    logs = template.add_resource(_bucket(
        "LogsBucket", versioned=False, logs=None,
        # CloudFront's standard logs are written with an ACL: the logs bucket keeps ACLs enabled.
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")]),
        rules=[LifecycleRule(Id="expire-logs", Status="Enabled", ExpirationInDays=LOG_DAYS)]))
    skip_checkov(logs, CKV_AWS_18="the access-log bucket itself: logging it into itself would loop",
                 CKV_AWS_21=NO_VERSIONING.format(what="access logs expire after 90 days"))
    uploads = template.add_resource(_bucket(
        "UploadsBucket", versioned=True, logs=logs,
        CorsConfiguration=CorsConfiguration(CorsRules=[CorsRules(
            Id="presigned-post", AllowedOrigins=web_origins, AllowedMethods=UPLOAD_METHODS, MaxAge=PREFLIGHT_SECONDS)]),
        rules=[LifecycleRule(Id="expire-old-versions", Status="Enabled",
                             NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=NONCURRENT_DAYS))]))
    backup = template.add_resource(_bucket(
        "BackupBucket", versioned=True, logs=logs,
        rules=[LifecycleRule(Id="cold-storage", Status="Enabled",
                             Transitions=[LifecycleRuleTransition(StorageClass="GLACIER_IR",
                                                                  TransitionInDays=BACKUP_COLD_DAYS)],
                             NoncurrentVersionExpiration=NoncurrentVersionExpiration(
                                 NoncurrentDays=BACKUP_NONCURRENT_DAYS))]))
    static = template.add_resource(skip_checkov(
        _bucket("StaticBucket", versioned=False, logs=logs, rules=[]),
        CKV_AWS_21=NO_VERSIONING.format(what="static assets are rebuilt from the repository on every deploy")))
    distribution = _distribution(template, uploads, static, logs)
    template.add_resource(_policy(uploads, _cloudfront_reads(uploads, distribution, SERVED_PREFIX)))
    template.add_resource(_policy(static, _cloudfront_reads(static, distribution)))
    template.add_resource(_policy(backup))
    template.add_resource(_policy(logs, _log_delivery(logs)))
    return Buckets(uploads, backup, static, logs, distribution)


def _bucket(title: str, *, versioned: bool, logs: Bucket | None, rules: list[LifecycleRule],
            **properties: Any) -> Bucket:
    """A private, encrypted bucket that aborts stale multipart uploads; data is retained past the stack."""
    bucket = Bucket(
        title,
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        LifecycleConfiguration=LifecycleConfiguration(Rules=[
            *rules,
            LifecycleRule(Id="abort-incomplete-uploads", Status="Enabled",
                          AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=1)),
        ]),
        **properties)
    if versioned:
        bucket.VersioningConfiguration = VersioningConfiguration(Status="Enabled")
    if logs is not None:
        bucket.LoggingConfiguration = LoggingConfiguration(
            DestinationBucketName=Ref(logs), LogFilePrefix=f"s3/{title.removesuffix('Bucket').lower()}/")
    return keep_data(bucket, RETAIN)


def _distribution(template: Template, uploads: Bucket, static: Bucket, logs: Bucket) -> Distribution:
    access = template.add_resource(OriginAccessControl("CdnOriginAccessControl", OriginAccessControlConfig=(
        OriginAccessControlConfig(Name=Sub("${AWS::StackName}-s3"), OriginAccessControlOriginType="s3",
                                  SigningBehavior="always", SigningProtocol="sigv4",
                                  Description="CloudFront signs its requests to the uploads and static buckets"))))

    def origin(bucket: Bucket) -> Origin:
        return Origin(Id=bucket.title, DomainName=GetAtt(bucket, "RegionalDomainName"),
                      S3OriginConfig=S3OriginConfig(OriginAccessIdentity=""),
                      OriginAccessControlId=GetAtt(access, "Id"))

    behaviour = {"ViewerProtocolPolicy": "redirect-to-https", "Compress": True, "CachePolicyId": CACHING_OPTIMIZED,
                 "ResponseHeadersPolicyId": SECURITY_HEADERS, "AllowedMethods": ["GET", "HEAD"]}
    distribution = Distribution("Cdn", DistributionConfig=DistributionConfig(
        Comment=Sub("${AWS::StackName} uploads and static assets"), Enabled=True, HttpVersion="http2and3",
        IPV6Enabled=True, PriceClass="PriceClass_100", Origins=[origin(uploads), origin(static)],
        DefaultCacheBehavior=DefaultCacheBehavior(TargetOriginId=uploads.title, **behaviour),
        CacheBehaviors=[CacheBehavior(PathPattern=STATIC_PATH, TargetOriginId=static.title, **behaviour)],
        Logging=Logging(Bucket=GetAtt(logs, "DomainName"), Prefix="cloudfront/"),
        ViewerCertificate=ViewerCertificate(CloudFrontDefaultCertificate=True)))
    return template.add_resource(skip_checkov(
        distribution,
        # The *.cloudfront.net certificate: CloudFront then allows TLSv1 and up; a custom CDN domain with an
        # ACM certificate in us-east-1 would allow setting TLSv1.2_2021.
        CKV_AWS_174="served on the default *.cloudfront.net certificate, whose minimum protocol CloudFront fixes",
        CKV_AWS_68="no WAF: AWS::WAFv2::WebACL is outside the resource types eb_tools provisions; the CDN serves "
                   "static objects only",
    ))


def _policy(bucket: Bucket, *statements: dict[str, Any]) -> BucketPolicy:
    objects = Join("", [GetAtt(bucket, "Arn"), "/*"])
    deny_plain_http = {
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [GetAtt(bucket, "Arn"), objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return BucketPolicy(f"{bucket.title}Policy", Bucket=Ref(bucket),
                        PolicyDocument={"Version": "2012-10-17", "Statement": [deny_plain_http, *statements]})


def _cloudfront_reads(bucket: Bucket, distribution: Distribution, prefix: str = "") -> dict[str, Any]:
    return {
        "Sid": "CloudFrontReads", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject", "Resource": Join("", [GetAtt(bucket, "Arn"), f"/{prefix}*"]),
        "Condition": {"StringEquals": {"AWS:SourceArn": Sub(
            f"arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{distribution.title}}}")}},
    }


def _log_delivery(logs: Bucket) -> dict[str, Any]:
    """S3 server access logging delivers as the logging service, for this account's buckets only."""
    return {
        "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": Join("", [GetAtt(logs, "Arn"), "/s3/*"]),
        "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
    }
