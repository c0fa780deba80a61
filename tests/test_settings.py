"""Settings from environment properties; secrets from Secrets Manager and SSM, cached, never shown."""
from __future__ import annotations

import json
import logging
import multiprocessing
import runpy
import uuid
from pathlib import Path

import pytest

from core import db, secrets
from core.settings import ConfigError, Settings
from tests.conftest import aws_client


@pytest.fixture(autouse=True)
def fresh_secret_cache(monkeypatch):
    """Each test reads its secrets anew: the process-wide cache is replaced for the test's duration."""
    monkeypatch.setattr(secrets, "_cache", {})


def test_local_defaults_need_no_configuration(tmp_path):
    settings = Settings.from_env({"LOCAL_DATA_DIR": str(tmp_path)})
    assert settings.role == "web" and settings.is_local
    assert settings.database_url.drivername == "sqlite"
    assert settings.redis_url is None and settings.aws_endpoint_url is None
    assert settings.upload_max_bytes == 10 * 1024 * 1024
    assert settings.trusted_proxies == 2  # as deployed: the load balancer, then the instance's nginx


def test_rds_linkage_builds_the_url_and_reads_credentials_from_the_secret(cloud, caplog):
    name = f"rds-{uuid.uuid4().hex[:8]}"
    arn = aws_client(cloud, "secretsmanager").create_secret(
        Name=name, SecretString=json.dumps({"username": "admin", "password": "s3cr3t-pw", "engine": "mariadb"})
    )["ARN"]
    env = {"DB_HOST": "writer.rds.internal", "DB_READER_HOST": "reader.rds.internal", "DB_NAME": "shop",
           "DB_SECRET_ARN": arn, "AWS_ENDPOINT_URL": cloud.url}
    settings = Settings.from_env(env)
    # (botocore's own DEBUG log prints response bodies: never run production at DEBUG)
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="core"):
        writer, reader = db.urls(settings)
    assert (writer.host, writer.port, writer.database, writer.username) == \
        ("writer.rds.internal", 3306, "shop", "admin")
    assert writer.password == "s3cr3t-pw" and reader.host == "reader.rds.internal"
    assert reader.password == "s3cr3t-pw"
    assert "s3cr3t-pw" not in repr(settings) + str(writer) + repr(secrets.db_credentials(settings, arn))
    assert "s3cr3t-pw" not in caplog.text

    # Fetched once: the secret going away later does not matter to a running instance.
    aws_client(cloud, "secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert db.urls(settings)[0].password == "s3cr3t-pw"


def test_secret_key_comes_from_an_ssm_securestring(cloud):
    name = f"/app/{uuid.uuid4().hex[:8]}/secret-key"
    aws_client(cloud, "ssm").put_parameter(Name=name, Value="from-ssm", Type="SecureString")
    settings = Settings.from_env({"STAGE": "staging", "SECRET_KEY_PARAMETER": name, "AWS_ENDPOINT_URL": cloud.url,
                                  "DB_HOST": "writer.rds.internal"})
    assert secrets.app_secret_key(settings) == "from-ssm"


def test_missing_secrets_are_one_clear_error(cloud):
    settings = Settings.from_env({"STAGE": "staging", "SECRET_KEY_PARAMETER": "/nope", "AWS_ENDPOINT_URL": cloud.url,
                                  "DB_HOST": "writer.rds.internal"})
    with pytest.raises(ConfigError, match=r"SECRET_KEY_PARAMETER: cannot read /nope \(ParameterNotFound\)"):
        secrets.app_secret_key(settings)
    arn = aws_client(cloud, "secretsmanager").create_secret(Name=f"bad-{uuid.uuid4().hex[:6]}",
                                                           SecretString="not json")["ARN"]
    bad = Settings.from_env({"DB_HOST": "h", "DB_SECRET_ARN": arn, "AWS_ENDPOINT_URL": cloud.url})
    with pytest.raises(ConfigError, match="not JSON with username and password"):
        db.urls(bad)


def test_local_secret_key_is_kept_between_runs(tmp_path):
    settings = Settings.from_env({"LOCAL_DATA_DIR": str(tmp_path)})
    first = secrets.app_secret_key(settings)
    assert len(first) == 64 and secrets.app_secret_key(settings) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL: not a database URL"),
        ({"DATABASE_URL": "postgresql://h/db"}, "DATABASE_URL: driver 'postgresql' is not supported"),
        ({"DB_HOST": "h", "DB_PORT": "99999"}, "DB_PORT: 99999 is out of range"),
        ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE: 'maybe' is not a boolean"),
        ({"AWS_ENDPOINT_URL": "127.0.0.1:4566"}, "AWS_ENDPOINT_URL: '127.0.0.1:4566' is not a URL"),
        ({"APP_ROLE": "cron"}, "APP_ROLE: 'cron' is not one of web, worker"),
        ({"TRUSTED_PROXIES": "all"}, "TRUSTED_PROXIES: 'all' is not a whole number"),
        ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES: -1 is out of range"),
        ({"STAGE": "production", "SECRET_KEY_PARAMETER": "/p"}, "DB_HOST: required when STAGE='production'"),
    ],
)
def test_malformed_values_name_the_property(env, message):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


@pytest.mark.parametrize("role", ["web", "worker"])
def test_gunicorn_runs_one_web_process_per_core_and_leaves_the_access_log_to_nginx(role, monkeypatch, tmp_path):
    """The web tier's requests are short: a process per core (at least 2, so a recycled one never leaves the
    instance without a server); the worker tier's tasks wait on AWS: 2xCPU+1. nginx logs every request of
    both tiers, so gunicorn writes no second access log (benchmarks/web_path.py measured both)."""
    for name in ("GUNICORN_WORKERS", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ROLE", role)
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path))
    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    cores = multiprocessing.cpu_count()
    assert conf["workers"] == (max(2, cores) if role == "web" else 2 * cores + 1)
    assert conf["accesslog"] is None and conf["errorlog"] == "-"
