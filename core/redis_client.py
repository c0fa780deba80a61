"""The one way the apps connect to Redis (ElastiCache): REDIS_URL, plus the AUTH token when there is one.

In AWS the token is an ElastiCache AUTH secret that the platform loads into
REDIS_AUTH_TOKEN (`environmentsecrets`), so the URL itself never holds a secret.
"""
from __future__ import annotations

from typing import Any

import redis

from core.settings import Settings


def connect(settings: Settings, **options: Any) -> redis.Redis:
    if not settings.redis_url:
        raise ValueError("REDIS_URL is not set")
    return redis.Redis.from_url(settings.redis_url, password=settings.redis_auth_token, **options)
