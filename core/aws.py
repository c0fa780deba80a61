"""boto3 clients configured from Settings: region, local endpoint, short timeouts.

Every call is bounded: at most 2 attempts (botocore's total_max_attempts counts the first; its max_attempts
counts only retries, so the former max_attempts=3 meant 4 attempts) of at most 2 s to connect and 5 s per
read, so an unreachable S3 or SQS costs a request about 12 s, then a 503, not the 40 s it waited before
(tests/chaos/storage_down.py). The worker's failed task is retried by sqsd, not here.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from core.settings import Settings

_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 2, "mode": "standard"})


@lru_cache(maxsize=64)
def _client(service: str, region: str, endpoint_url: str | None) -> Any:
    config = _CONFIG
    if service == "s3" and endpoint_url:
        # A local endpoint is an IP address: bucket names cannot go into the host.
        config = config.merge(Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    elif service == "s3":
        config = config.merge(Config(signature_version="s3v4"))
    return boto3.session.Session().client(
        service, region_name=region, endpoint_url=endpoint_url, config=config
    )


def client(settings: Settings, service: str) -> Any:
    """A cached, thread-safe boto3 client for `service` (clients are; sessions are not)."""
    return _client(service, settings.aws_region, settings.aws_endpoint_url)
