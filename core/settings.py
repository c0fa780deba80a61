"""Typed settings read from Elastic Beanstalk environment properties.

Every value has an embedded default for a local run, so `make up` works with no
configuration at all. A malformed value raises ConfigError with one line that
names the property, what was wrong and how to fix it; wsgi.py and the gunicorn
config turn that into a clean start-up failure instead of a traceback.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ROLES = ("web", "worker")
SUPPORTED_DRIVERS = ("sqlite", "mysql+pymysql")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line, ready to print."""


@dataclass(frozen=True)
class Settings:
    role: str = "web"
    stage: str = "local"
    data_dir: Path = Path(".local")
    # Database: DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME; credentials from DB_SECRET_ARN.
    database_url: URL = field(default_factory=lambda: make_url("sqlite:///.local/app.db"))
    db_reader_host: str | None = None
    db_secret_arn: str | None = None
    redis_url: str | None = None
    redis_auth_token: str | None = field(default=None, repr=False)  # ElastiCache AUTH, from Secrets Manager
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    uploads_bucket: str = "local-uploads"
    backup_bucket: str = "local-backups"
    cdn_url: str | None = None  # where browsers read served uploads: the CDN's base URL, no trailing slash
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_url_expires: int = 300
    worker_queue_url: str | None = None
    mail_from: str = "no-reply@example.com"
    secret_key_parameter: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    session_cookie_secure: bool = True
    session_lifetime: int = 14 * 24 * 3600
    # Proxies in front of gunicorn that append to X-Forwarded-For: in AWS the load balancer and the
    # instance's nginx; `eb_tools local` sets 1 (nginx) or 0 (none).
    trusted_proxies: int = 2
    task_lease_seconds: int = 240
    ledger_retention_days: int = 14
    image_max_pixels: int = 40_000_000
    log_level: str = "INFO"

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `env` (default: os.environ); raise ConfigError on bad input."""
        env = os.environ if env is None else env
        get = _Reader(env)
        role = get.choice("APP_ROLE", ROLES, "web")
        stage = get.text("STAGE", "local")
        data_dir = Path(get.text("LOCAL_DATA_DIR", ".local"))
        settings = cls(
            role=role,
            stage=stage,
            data_dir=data_dir,
            database_url=_database_url(get, data_dir),
            db_reader_host=get.optional("DB_READER_HOST"),
            db_secret_arn=get.optional("DB_SECRET_ARN"),
            redis_url=get.url("REDIS_URL", ("redis", "rediss")),
            redis_auth_token=get.optional("REDIS_AUTH_TOKEN"),
            aws_region=get.text("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            aws_endpoint_url=get.url("AWS_ENDPOINT_URL", ("http", "https")),
            uploads_bucket=get.text("UPLOADS_BUCKET", "local-uploads"),
            backup_bucket=get.text("BACKUP_BUCKET", "local-backups"),
            cdn_url=_base_url(get.url("CDN_URL", ("https", "http"))),
            upload_max_bytes=get.integer("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, 1, 5 * 1024**3),
            upload_url_expires=get.integer("UPLOAD_URL_EXPIRES", 300, 10, 7 * 24 * 3600),
            worker_queue_url=get.url("WORKER_QUEUE_URL", ("http", "https")),
            mail_from=get.text("MAIL_FROM", "no-reply@example.com"),
            secret_key_parameter=get.optional("SECRET_KEY_PARAMETER"),
            secret_key=get.optional("SECRET_KEY"),
            session_cookie_secure=get.boolean("SESSION_COOKIE_SECURE", True),
            session_lifetime=get.integer("SESSION_LIFETIME", 14 * 24 * 3600, 60, 365 * 24 * 3600),
            trusted_proxies=get.integer("TRUSTED_PROXIES", 2, 0, 5),
            task_lease_seconds=get.integer("TASK_LEASE_SECONDS", 240, 1, 24 * 3600),
            ledger_retention_days=get.integer("LEDGER_RETENTION_DAYS", 14, 1, 3650),
            image_max_pixels=get.integer("IMAGE_MAX_PIXELS", 40_000_000, 1, 1_000_000_000),
            log_level=get.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        )
        if not settings.is_local and settings.database_url.get_backend_name() == "sqlite":
            raise ConfigError(
                f"DB_HOST: required when STAGE={stage!r}; set DB_HOST (the RDS writer endpoint) "
                "or DATABASE_URL, or a local SQLite file would silently take the data"
            )
        if not settings.is_local and not (settings.secret_key_parameter or settings.secret_key):
            raise ConfigError(
                f"SECRET_KEY_PARAMETER: required when STAGE={stage!r}; "
                "set it to the name of an SSM SecureString parameter"
            )
        return settings


class _Reader:
    """Typed access to a mapping of strings, each error naming the property."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def optional(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}: {value} is out of range; use {low}..{high}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.optional(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: {raw!r} is not a boolean; use true or false")

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        raw = self.optional(name)
        if raw is None:
            return None
        scheme, sep, rest = raw.partition("://")
        if not sep or scheme not in schemes or not rest.strip("/"):
            raise ConfigError(
                f"{name}: {raw!r} is not a URL; expected {schemes[0]}://host[:port]..."
            )
        return raw


def _base_url(url: str | None) -> str | None:
    """A base URL other URLs are built on by appending "/<path>"."""
    return url.rstrip("/") if url else None


def _database_url(get: _Reader, data_dir: Path) -> URL:
    raw = get.optional("DATABASE_URL")
    host = get.optional("DB_HOST")
    if raw is None and host is not None:
        return URL.create(
            "mysql+pymysql",
            host=host,
            port=get.integer("DB_PORT", 3306, 1, 65535),
            database=get.text("DB_NAME", "app"),
            query={"charset": "utf8mb4"},
        )
    if raw is None:
        return make_url(f"sqlite:///{data_dir / 'app.db'}")
    hint = "expected mysql+pymysql://user@host:3306/dbname or sqlite:///path/app.db"
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigError(f"DATABASE_URL: not a database URL; {hint}") from None
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(f"DATABASE_URL: driver {url.drivername!r} is not supported; {hint}")
    if url.drivername != "sqlite" and not (url.host and url.database):
        raise ConfigError(f"DATABASE_URL: host and database name are required; {hint}")
    return url
