"""The local cloud's S3 enforces browser-POST policies with S3's own error answers."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.config import Config

from eb_tools.cloud.s3_post_policy import PolicyError, PostForm, S3PostPolicyMiddleware
from tests.conftest import aws_client


@pytest.fixture
def bucket(cloud):
    name = f"policy-{uuid.uuid4().hex[:10]}"
    aws_client(cloud, "s3").create_bucket(Bucket=name)
    return name


def presign(cloud, bucket, key="k/a.png", conditions=None, expires=60, secret="testing", version="s3v4"):
    s3 = boto3.client("s3", endpoint_url=cloud.url, region_name="us-east-1", config=Config(signature_version=version),
                      aws_access_key_id="testing", aws_secret_access_key=secret)
    return s3.generate_presigned_post(bucket, key, Fields={"Content-Type": "image/png"},
                                      Conditions=conditions or [{"Content-Type": "image/png"},
                                                                ["content-length-range", 1, 100]],
                                      ExpiresIn=expires)


def send(post, body=b"x" * 10, **extra):
    return requests.post(post["url"], data={**post["fields"], **extra}, files={"file": ("a", body)}, timeout=10)


def test_valid_post_is_stored(cloud, bucket):
    assert send(presign(cloud, bucket)).status_code == 204
    assert aws_client(cloud, "s3").get_object(Bucket=bucket, Key="k/a.png")["Body"].read() == b"x" * 10


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_wrong_signature_is_refused(cloud, bucket, version):
    assert send(presign(cloud, bucket, version=version)).status_code == 204
    response = send(presign(cloud, bucket, secret="not-the-secret", version=version))
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text


def test_extra_fields_must_be_covered_by_the_policy(cloud, bucket):
    response = send(presign(cloud, bucket), **{"x-amz-meta-owner": "mallory"})
    assert response.status_code == 403
    assert "Extra input fields: x-amz-meta-owner" in response.text
    assert send(presign(cloud, bucket), **{"x-ignore-note": "fine"}).status_code == 204


def test_too_small_and_starts_with(cloud, bucket):
    post = presign(cloud, bucket, conditions=[["starts-with", "$Content-Type", "image/"],
                                              ["content-length-range", 5, 100]])
    small = send(post, body=b"abc")
    assert small.status_code == 400 and "<Code>EntityTooSmall</Code>" in small.text
    assert send(post, **{"Content-Type": "image/gif"}).status_code == 204
    refused = send(post, **{"Content-Type": "application/pdf"})
    assert refused.status_code == 403 and '["starts-with", "$Content-Type", "image/"]' in refused.text


def test_expired_policy_is_refused(cloud, bucket):
    post = presign(cloud, bucket)
    in_five_minutes = S3PostPolicyMiddleware(lambda environ, start: [b""], {"testing": "testing"},
                                             now=lambda: datetime.now(UTC) + timedelta(minutes=5))
    fields = {name.lower(): value for name, value in post["fields"].items()}
    with pytest.raises(PolicyError, match="Policy expired"):
        in_five_minutes.verify(bucket, PostForm(fields, 10))


def test_a_range_of_one_size_admits_that_size_only(cloud, bucket):
    """core/storage.py binds content-length-range to the declared size: S3 checks both bounds."""
    post = presign(cloud, bucket, conditions=[{"Content-Type": "image/png"}, ["content-length-range", 10, 10]])
    smaller, larger = send(post, body=b"x" * 9), send(post, body=b"x" * 11)
    assert smaller.status_code == 400 and "<Code>EntityTooSmall</Code>" in smaller.text
    assert larger.status_code == 400 and "<Code>EntityTooLarge</Code>" in larger.text
    assert "<MaxSizeAllowed>10</MaxSizeAllowed>" in larger.text
    assert send(post, body=b"x" * 10).status_code == 204


def test_a_versioned_bucket_keeps_each_post_as_a_version(cloud, bucket):
    """A presigned form is good until it expires: in a versioned bucket a second POST makes a new version
    and the first stays readable by its VersionId, which is what the worker reads."""
    s3 = aws_client(cloud, "s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    post = presign(cloud, bucket)
    assert send(post, body=b"a" * 10).status_code == 204
    first = s3.head_object(Bucket=bucket, Key="k/a.png")["VersionId"]
    assert send(post, body=b"b" * 10).status_code == 204
    latest = s3.head_object(Bucket=bucket, Key="k/a.png")["VersionId"]
    assert latest != first
    assert s3.get_object(Bucket=bucket, Key="k/a.png", VersionId=first)["Body"].read() == b"a" * 10
    assert s3.get_object(Bucket=bucket, Key="k/a.png")["Body"].read() == b"b" * 10
    versions = s3.list_object_versions(Bucket=bucket, Prefix="k/a.png")["Versions"]
    assert {v["VersionId"] for v in versions} == {first, latest}
