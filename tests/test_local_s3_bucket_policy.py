"""Bucket policies in the local cloud: a TLS-only guard lets the (HTTPS-standing) endpoint through, a plain
Deny still denies, and a condition that fails makes its statement not apply; anonymous requests get only
what the policy grants everyone, else S3's 403 AccessDenied; CloudFront's origin requests (the local CDN
stand-in's) get what the policy grants the distribution."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from tests.conftest import aws_client


def _bucket_with(cloud: Any, *statements: dict[str, Any]) -> tuple[Any, str]:
    s3, bucket = aws_client(cloud, "s3"), f"policy-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {**statement, "Resource": resources} for statement in statements]}))
    return s3, bucket


def test_the_tls_only_guard_lets_the_endpoint_through(cloud):
    s3, bucket = _bucket_with(cloud, {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"kept")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"kept"


def test_a_deny_whose_condition_holds_still_denies(cloud):
    s3, bucket = _bucket_with(cloud, {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                                      "Condition": {"Bool": {"aws:SecureTransport": "true"}}})
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket=bucket, Key="a.txt")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_allow_whose_condition_fails_does_not_deny(cloud):
    s3, bucket = _bucket_with(cloud, {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                      "Condition": {"StringEquals": {"aws:SecureTransport": "false"}}})
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"y")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"y"


# --- Anonymous requests: S3 grants them only what the bucket policy (or an ACL) grants everyone ---------------
def _anonymous(method: str, url: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, url, timeout=10, **kwargs)


def _access_denied(response: requests.Response) -> bool:
    return response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text


def test_an_anonymous_put_to_a_new_key_is_refused(cloud):
    s3, bucket = aws_client(cloud, "s3"), f"anon-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    refused = _anonymous("PUT", f"{cloud.url}/{bucket}/uploads/1/evil.png", data=b"<svg/>")
    assert _access_denied(refused), refused.text
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    s3.put_object(Bucket=bucket, Key="kept.txt", Body=b"kept")
    assert _access_denied(_anonymous("PUT", f"{cloud.url}/{bucket}/kept.txt", data=b"replaced"))
    assert _access_denied(_anonymous("DELETE", f"{cloud.url}/{bucket}/kept.txt"))
    assert s3.get_object(Bucket=bucket, Key="kept.txt")["Body"].read() == b"kept"


@pytest.mark.parametrize("query", ["", "?list-type=2", "?versions", "?uploads", "?policy", "?acl", "?location"])
def test_an_anonymous_listing_or_configuration_read_is_refused(cloud, query):
    s3, bucket = aws_client(cloud, "s3"), f"anon-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret/a.txt", Body=b"x")
    refused = _anonymous("GET", f"{cloud.url}/{bucket}{query}")
    assert _access_denied(refused) and "secret/a.txt" not in refused.text
    assert _anonymous("HEAD", f"{cloud.url}/{bucket}").status_code == 403
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1  # signed requests are the bucket owner's


def test_anonymous_requests_get_no_bucket_list_and_no_new_bucket(cloud):
    name = f"anon-{uuid.uuid4().hex[:10]}"
    assert _access_denied(_anonymous("GET", f"{cloud.url}/"))
    assert _access_denied(_anonymous("PUT", f"{cloud.url}/{name}"))
    names = [b["Name"] for b in aws_client(cloud, "s3").list_buckets()["Buckets"]]
    assert name not in names
    missing = _anonymous("GET", f"{cloud.url}/{name}/a.txt")  # S3 tells anyone a bucket does not exist
    assert missing.status_code == 404 and "NoSuchBucket" in missing.text


def test_what_a_policy_grants_everyone_is_granted_and_nothing_more(cloud):
    s3, bucket = _bucket_with(cloud, {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket"})
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    anyone = {"AWS": "*"}
    policy["Statement"].append({"Effect": "Allow", "Principal": anyone, "Action": ["s3:GetObject", "s3:PutObject"],
                                "Resource": f"arn:aws:s3:::{bucket}/public/*"})
    policy["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{bucket}/public/hidden.txt"})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    s3.put_object(Bucket=bucket, Key="public/hidden.txt", Body=b"h")
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"p")
    assert _anonymous("GET", f"{cloud.url}/{bucket}?list-type=2").status_code == 200
    assert _anonymous("PUT", f"{cloud.url}/{bucket}/public/a.txt", data=b"a").status_code == 200
    assert _anonymous("GET", f"{cloud.url}/{bucket}/public/a.txt").content == b"a"
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}/public/hidden.txt"))  # a Deny wins
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}/private.txt"))
    assert _access_denied(_anonymous("PUT", f"{cloud.url}/{bucket}/private.txt", data=b"x"))
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}?versions"))
    # Block Public Access's RestrictPublicBuckets: public grants are ignored (the stage templates set it).
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}?list-type=2"))
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}/public/a.txt"))


def _distribution(cloud: Any, bucket: str) -> dict[str, Any]:
    """A CloudFront distribution in front of `bucket`, caching nothing (managed policy CachingDisabled)."""
    return aws_client(cloud, "cloudfront").create_distribution(DistributionConfig={
        "CallerReference": uuid.uuid4().hex, "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "uploads", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "uploads", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"}})["Distribution"]


def test_cloudfront_reads_what_the_policy_grants_its_distribution_and_browsers_nothing(cloud):
    """The statement for cloudfront.amazonaws.com applies to the distribution its aws:SourceArn names, read
    through the local CDN stand-in; an anonymous browser at the S3 endpoint is no distribution."""
    s3, bucket = _bucket_with(cloud, {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    named, other = _distribution(cloud, bucket), _distribution(cloud, bucket)
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"].append({"Sid": "CloudFrontReads", "Effect": "Allow",
                                "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{bucket}/variants/*",
                                "Condition": {"StringEquals": {"AWS:SourceArn": named["ARN"]}}})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_object(Bucket=bucket, Key="variants/1/a/w200.jpg", Body=b"served")
    s3.put_object(Bucket=bucket, Key="uploads/1/a.jpg", Body=b"incoming")
    served = _anonymous("GET", f"{cloud.distribution_url(named['Id'])}/variants/1/a/w200.jpg")
    assert served.status_code == 200 and served.content == b"served"
    assert _access_denied(_anonymous("GET", f"{cloud.distribution_url(named['Id'])}/uploads/1/a.jpg"))
    assert _access_denied(_anonymous("GET", f"{cloud.distribution_url(named['Id'])}/variants/1/nothing.jpg"))
    assert _access_denied(_anonymous("GET", f"{cloud.distribution_url(other['Id'])}/variants/1/a/w200.jpg"))
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}/variants/1/a/w200.jpg"))
    assert _anonymous("HEAD", f"{cloud.url}/{bucket}/variants/1/a/w200.jpg").status_code == 403
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}/uploads/1/a.jpg"))
    assert _access_denied(_anonymous("PUT", f"{cloud.url}/{bucket}/variants/1/a/w200.jpg", data=b"swapped"))
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}?prefix=variants/"))
    # A presigned URL is signed: the owner's credentials decide, as for any signed request.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "uploads/1/a.jpg"}, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == b"incoming"


def test_a_missing_key_is_404_only_to_whom_may_list_the_bucket(cloud):
    _, bucket = _bucket_with(cloud, {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"})
    assert _access_denied(_anonymous("GET", f"{cloud.url}/{bucket}/nothing.txt"))
    _, bucket = _bucket_with(cloud, {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"]})
    assert _anonymous("GET", f"{cloud.url}/{bucket}/nothing.txt").status_code == 404


def test_a_cors_preflight_is_answered_without_credentials(cloud):
    s3, bucket = aws_client(cloud, "s3"), f"anon-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    origin = "https://app.example.com"
    rule = {"AllowedOrigins": [origin], "AllowedMethods": ["POST"], "AllowedHeaders": ["content-type"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    preflight = _anonymous("OPTIONS", f"{cloud.url}/{bucket}", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
