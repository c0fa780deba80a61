"""Log-in and sign-up throttles, per account and per client address, shared by every instance.

Flask-Limiter counts attempts in the shared Redis (ElastiCache), so a limit holds
however the load balancer spreads an attacker's requests over instances; without
REDIS_URL (a local run) it counts in each process's memory, so per gunicorn worker.
The client address is the one ProxyFix takes from X-Forwarded-For (TRUSTED_PROXIES
hops from the right): behind the load balancer a client cannot choose it. IPv6
clients are counted per /64, the block one subscriber gets. The account is the
posted email, normalized as log-in does and hashed, so no address sits in Redis.

If Redis cannot be reached, requests go through unthrottled and the error is logged
(the sessions are kept in the same Redis).
"""
from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.exceptions import HTTPException

from core.settings import Settings
from web.errors import error_response


def client_address() -> str:
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return f"address:{raw[:64]}"  # only reachable without a proxy in front that sets a real one
    if address.version == 6:
        return f"address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"address:{address}"


def posted_account() -> str:
    try:
        email = str(request.form.get("email", ""))
    except HTTPException:  # a body the view refuses itself (too large, malformed)
        email = ""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"account:{digest}"


def _failed(response: Response) -> bool:
    """A log-in that did not redirect into the app: only failures spend an account's budget."""
    return response.status_code != 302


@dataclass(frozen=True)
class Throttle:
    endpoint: str
    limits: str
    key: Callable[[], str]
    what: str
    only_failures: bool = False


THROTTLES = (
    Throttle("auth.login", "5 per minute; 20 per hour", posted_account, "failed log-ins for this account",
             only_failures=True),
    Throttle("auth.login", "20 per minute; 200 per hour", client_address, "log-in attempts from your address"),
    Throttle("auth.signup", "10 per hour", posted_account, "sign-ups with this email address"),
    Throttle("auth.signup", "20 per hour", client_address, "sign-ups from your address"),
)


def init(app: Flask, settings: Settings, store: redis.Redis | None) -> Limiter:
    """Throttle the POSTs of the endpoints in THROTTLES; call once their views are registered."""
    if store is not None:
        # The app's own client (core/redis_client.py: REDIS_URL and the AUTH token), shared with the sessions.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"connection_pool": store.connection_pool}
    limiter = Limiter(
        client_address,
        storage_uri=settings.redis_url or "memory://",
        strategy="moving-window",
        headers_enabled=True,  # Retry-After (and X-RateLimit-*) on every throttled answer
        swallow_errors=True,
        # Counters belong to the accounts they protect, which live in one database of one stage.
        key_prefix=f"{settings.stage}:{settings.database_url.database or ''}",
    )
    limiter.init_app(app)
    throttled = {throttle.endpoint for throttle in THROTTLES}

    @limiter.request_filter
    def unthrottled() -> bool:
        """Every throttle is on a POST of THROTTLES' endpoints: other requests skip the limiter's lookups,
        which cost every page view about a tenth of /healthz's time (benchmarks/web_path.py)."""
        return request.method != "POST" or request.endpoint not in throttled

    for throttle in THROTTLES:
        view: Callable[..., Any] = app.view_functions[throttle.endpoint]
        app.view_functions[throttle.endpoint] = limiter.limit(
            throttle.limits,
            key_func=throttle.key,
            methods=["POST"],
            error_message=f"Too many {throttle.what}",
            deduct_when=_failed if throttle.only_failures else None,
        )(view)

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded) -> tuple[Response | str, int]:
        current = limiter.current_limit
        wait = max(1, int(current.reset_at - time.time())) if current else 60
        when = f"{wait} seconds" if wait < 120 else f"{round(wait / 60)} minutes"
        return error_response(429, f"{exc.description}; try again in {when}.")

    return limiter
