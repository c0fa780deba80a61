"""Sessions in Redis that fail with a clear 503 when Redis cannot be reached, and recover by themselves.

Flask opens the session before any view runs, outside the views' error handling:
a Redis error there became a 500 whose error page then failed again on the unopened
session. Here a store that cannot be reached yields an empty session that is never
saved, and every route that needs sessions (all but the health checks and static
files) answers 503 with Retry-After before it runs; the load balancer's /healthz
still answers 200, since the process itself is fine. The next request after Redis
returns reads it again: nothing to restart.

Expiry slides (SESSION_LIFETIME after the last visit) without a Redis write per request:
Flask-Session's default rewrote every session on every request, a SET and a new
cookie that were a fifth of the logged-in page's CPU time (benchmarks/web_path.py).
A session is rewritten when it changes or when its last renewal is older than
REFRESH_EVERY, so it lives SESSION_LIFETIME after the last visit, give or take that.
"""
from __future__ import annotations

import logging
import time

import redis
from flask import Flask, Request, request, session
from flask.sessions import SessionMixin
from flask_session.redis import RedisSessionInterface
from flask_session.redis.redis import RedisSession
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds: the usual time for ElastiCache to promote a replica or restart a node
REFRESH_EVERY = 3600  # seconds between renewals of an unchanged session's TTL and cookie
RENEWED = "_renewed"  # the session key holding the time of the last renewal
NO_SESSION_NEEDED = frozenset({"health"})  # blueprints that answer without a session


class SessionStoreDown(ServiceUnavailable):
    description = "Sessions are unavailable right now (the session store cannot be reached); try again shortly."

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER)


class UnavailableSession(RedisSession):
    """What a request gets when Redis could not be read: empty, and never written back."""


class RedisSessions(RedisSessionInterface):
    def open_session(self, app: Flask, request: Request) -> RedisSession:
        try:
            return super().open_session(app, request)
        except redis.RedisError as error:
            log.warning("session store unreachable: %s", error)
            return UnavailableSession(sid=self._generate_sid(self.sid_length), permanent=self.permanent)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, UnavailableSession):
            return
        now = int(time.time())
        if session and (session.modified or now - dict(session).get(RENEWED, 0) >= REFRESH_EVERY):
            session[RENEWED] = now  # marks it modified: stored with a new TTL, and a new cookie sent
        try:
            super().save_session(app, session, response)
        except redis.RedisError as error:  # Redis went away during the request: its change is not kept
            log.warning("session store unreachable while saving: %s", error)
            raise SessionStoreDown() from None


def init(app: Flask, store: redis.Redis) -> None:
    """Use Redis for sessions; call before anything that registers before_request hooks reading the session
    (CSRFProtect), so a request Redis cannot serve gets the 503 and not a confusing CSRF error."""
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False  # RedisSessions renews every REFRESH_EVERY instead
    app.session_interface = RedisSessions(app, client=store, key_prefix=app.config["SESSION_KEY_PREFIX"],
                                          permanent=app.config["SESSION_PERMANENT"])

    @app.before_request
    def refuse_without_sessions() -> None:
        needed = request.blueprint not in NO_SESSION_NEEDED and request.endpoint != "static"
        if needed and isinstance(session, UnavailableSession):
            raise SessionStoreDown()
