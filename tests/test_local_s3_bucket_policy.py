"""Bucket policies in the local cloud: a TLS-only guard lets the (HTTPS-standing) endpoint through, a plain
Deny still denies, and a condition that fails makes its statement not apply."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
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
