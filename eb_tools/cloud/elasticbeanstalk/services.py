"""The other emulated services EB uses, reached in-process: S3 for bundles and EB's own storage, SQS for
worker queues (moto's backends, taken from moto_internals; the caller holds the cloud's lock, as every
request does)."""
from __future__ import annotations

import json
from typing import Any

from eb_tools.cloud.moto_internals import S3Backend, s3_backends, secretsmanager_backends, sqs_backends


def _s3(account: str) -> S3Backend:
    return s3_backends[account]["aws"]


def read_object(account: str, bucket: str, key: str) -> bytes | None:
    """The object's bytes, None when the bucket or key does not exist."""
    try:
        found = _s3(account).get_object(bucket, key)
    except Exception:  # moto raises MissingBucket and friends: to EB it is just "not found"
        return None
    return bytes(found.value) if found is not None else None


def ensure_bucket(account: str, region: str, bucket: str) -> None:
    s3 = _s3(account)
    if bucket not in s3.buckets:
        s3.create_bucket(bucket, region)


def put_object(account: str, bucket: str, key: str, data: bytes) -> None:
    """Write an object into an existing bucket, as EB writes into its storage bucket."""
    _s3(account).put_object(bucket, key, data)


def delete_object(account: str, bucket: str, key: str) -> None:
    """Delete an object; one that is not there is no error, as in S3."""
    if read_object(account, bucket, key) is not None:
        _s3(account).delete_object(bucket, key)


def make_worker_queue(account: str, region: str, name: str) -> str:
    """A worker queue as EB makes it: 300 s visibility, a dead-letter queue after 10 receives; its URL."""
    sqs = sqs_backends[account][region]
    dlq = sqs.create_queue(f"{name}-DeadLetterQueue", MessageRetentionPeriod="1209600")
    redrive = {"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": "10"}
    sqs.create_queue(name, VisibilityTimeout="300", RedrivePolicy=json.dumps(redrive))
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def secret_string(account: str, region: str, secret_id: str) -> str:
    """The current value of a Secrets Manager secret, as the platform loads an environment secret."""
    backend: Any = secretsmanager_backends[account][region]  # moto types the absent version as str
    value = backend.get_secret_value(secret_id, None, None)
    return str(value.get("SecretString") or "")
