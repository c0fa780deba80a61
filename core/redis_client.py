"""The one way the apps connect to Redis (ElastiCache): REDIS_URL, plus the AUTH token when there is one.

In AWS the token is an ElastiCache AUTH secret that the platform loads into
REDIS_AUTH_TOKEN (`environmentsecrets`), so the URL itself never holds a secret.

Waits are bounded: redis-py 8 retries a failed command 10 times with backoff by
default, timeouts included, which with a 2 s socket timeout made a stuck node hold a
web request for over 20 s. Here half a second per socket operation (an answer from
ElastiCache takes a millisecond) and one retry, on a connection error only: a pooled
connection that a Redis restart dropped is made again once, while a node that does
not answer is not asked twice. A request waits at most about a second, then gets a
clear error (tests/test_sessions.py, tests/chaos/redis_down.py).
"""
from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from core.settings import Settings

SOCKET_TIMEOUT = 0.5  # seconds, per connect and per read


def connect(settings: Settings, **options: Any) -> redis.Redis:
    if not settings.redis_url:
        raise ValueError("REDIS_URL is not set")
    bounded: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "retry": Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1, supported_errors=(redis.ConnectionError,)),
    }
    return redis.Redis.from_url(settings.redis_url, password=settings.redis_auth_token, **{**bounded, **options})
