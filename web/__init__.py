"""The Flask web app (APP_ROLE=web): accounts, sessions in Redis, direct-to-S3 uploads."""
from __future__ import annotations

from cachelib.file import FileSystemCache
from flask import Flask
from flask_session import Session
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from core import db, redis_client
from core.secrets import app_secret_key
from core.settings import Settings
from web import auth, errors, health, uploads


def create_app(settings: Settings | None = None, database: db.Database | None = None) -> Flask:
    """Build the web app; tests pass their own settings (and may share a Database)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=app_secret_key(settings),
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        SESSION_PERMANENT=True,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_KEY_PREFIX="session:",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,  # forms and JSON only: image bytes go to S3
        **_session_store(settings),
    )
    app.extensions["settings"] = settings
    app.extensions["database"] = database or db.from_settings(settings)
    Session(app)
    CSRFProtect(app)
    # ALB -> nginx -> gunicorn: trust one hop for the scheme and client address.
    # Wrapping wsgi_app is Flask's documented way to add middleware; mypy flags any method assignment.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    for blueprint in (auth.bp, uploads.bp, health.bp):
        app.register_blueprint(blueprint)
    errors.register(app)
    return app


def _session_store(settings: Settings) -> dict[str, object]:
    """Redis (ElastiCache) when REDIS_URL is set, else a file store for a local run."""
    if settings.redis_url:
        client = redis_client.connect(settings, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        return {"SESSION_TYPE": "redis", "SESSION_REDIS": client}
    store = FileSystemCache(str(settings.data_dir / "sessions"), threshold=10_000, mode=0o600)
    return {"SESSION_TYPE": "cachelib", "SESSION_CACHELIB": store}
