"""The Flask web app (APP_ROLE=web): accounts, sessions in Redis, direct-to-S3 uploads.

What protects each route, and each limit, is listed in the README's security section.
"""
from __future__ import annotations

import redis
from cachelib.file import FileSystemCache
from flask import Flask
from flask_session import Session
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from core import db, redis_client
from core.secrets import app_secret_keys
from core.settings import Settings
from core.version import running_label
from web import auth, errors, health, security_headers, sessions, throttle, tracing, uploads
from web.converters import IdConverter
from web.json_provider import BoundedJSONProvider


def create_app(settings: Settings | None = None, database: db.Database | None = None) -> Flask:
    """Build the web app; tests pass their own settings (and may share a Database)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    tracing.init(app)  # first: every other hook's log lines carry the request's trace
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["int"] = IdConverter  # before any route is added: every <int:…> is bounded
    store = _redis(settings)
    signing, verifying = app_secret_keys(settings)
    app.config.update(
        SECRET_KEY=signing,
        SECRET_KEY_FALLBACKS=verifying,  # Flask's own signed data
        # Flask-WTF signs its tokens with itsdangerous, which verifies with every key of a list and signs with
        # the last: the CSRF tokens of pages served before a rotation still post after it.
        WTF_CSRF_SECRET_KEY=[*reversed(verifying), signing],
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        SESSION_PERMANENT=True,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_KEY_PREFIX="session:",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,  # forms and JSON only: image bytes go to S3
        **_session_store(settings, store),
    )
    app.extensions["settings"] = settings
    app.extensions["database"] = database or db.from_settings(settings)
    app.extensions["version_label"] = running_label()  # read once: the version this process started on
    if store is not None:
        sessions.init(app, store)  # before CSRFProtect: see web/sessions.py
    else:
        Session(app)
    CSRFProtect(app)
    # In AWS: ALB -> nginx -> gunicorn. The ALB appends the client's address to X-Forwarded-For and
    # nginx appends the ALB's, so the client is TRUSTED_PROXIES hops from the right; whatever a
    # client sent itself stays to the left, unread. X-Forwarded-Proto and X-Forwarded-Port are the
    # ALB's alone (nginx passes them on, and its Host drops the port): with them, links the app makes
    # for mail (the sign-up link) name the site as the browser reached it. Wrapping wsgi_app is Flask's
    # documented way to add middleware; mypy flags any method assignment.
    forwarded = min(settings.trusted_proxies, 1)
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, x_for=settings.trusted_proxies, x_proto=forwarded, x_port=forwarded
    )
    for blueprint in (auth.bp, uploads.bp, health.bp):
        app.register_blueprint(blueprint)
    errors.register(app)
    throttle.init(app, settings, store)
    security_headers.register(app, settings)
    return app


def _redis(settings: Settings) -> redis.Redis | None:
    """The shared Redis (ElastiCache) of sessions and throttles, when REDIS_URL is set."""
    if not settings.redis_url:
        return None
    return redis_client.connect(settings, health_check_interval=30)  # bounded waits: core/redis_client.py


def _session_store(settings: Settings, store: redis.Redis | None) -> dict[str, object]:
    """Redis when there is one, else a file store for a local run."""
    if store is not None:
        return {"SESSION_TYPE": "redis", "SESSION_REDIS": store}
    files = FileSystemCache(str(settings.data_dir / "sessions"), threshold=10_000, mode=0o600)
    return {"SESSION_TYPE": "cachelib", "SESSION_CACHELIB": files}
