"""Secrets from Secrets Manager and SSM Parameter Store, fetched once and cached.

Values never go to logs or reprs; errors name the secret, not its value.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError

from core.aws import client
from core.settings import ConfigError, Settings

_cache: dict[tuple[str, str], object] = {}
_lock = threading.Lock()

T = TypeVar("T")


class DbCredentials(NamedTuple):
    username: str
    password: str

    def __repr__(self) -> str:
        return f"DbCredentials(username={self.username!r}, password=<hidden>)"


def db_credentials(settings: Settings, secret_arn: str, refresh: bool = False) -> DbCredentials:
    """The username/password of the database's secret (a JSON SecretString); with `refresh`, read anew (the
    server refused the cached ones: the secret has rotated since)."""

    def fetch() -> DbCredentials:
        response = client(settings, "secretsmanager").get_secret_value(SecretId=secret_arn)
        return _credentials(secret_arn, response["SecretString"])

    if refresh:
        with _lock:
            _cache.pop(("secretsmanager", secret_arn), None)
    return _cached(("secretsmanager", secret_arn), "DB_SECRET_ARN", secret_arn, fetch)


def pending_db_credentials(settings: Settings, secret_arn: str) -> DbCredentials | None:
    """The credentials a rotation is moving to (the secret's AWSPENDING version), None when none is under way.
    A single-user rotation changes the server's password before the secret's current version: in between the
    server takes only these. Never cached: asked only when the current ones were refused."""
    try:
        response = client(settings, "secretsmanager").get_secret_value(SecretId=secret_arn,
                                                                        VersionStage="AWSPENDING")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise ConfigError(f"DB_SECRET_ARN: cannot read {secret_arn} ({exc.response['Error'].get('Code')})") from None
    return _credentials(secret_arn, response["SecretString"])


def _credentials(secret_arn: str, secret_string: str) -> DbCredentials:
    try:
        data = json.loads(secret_string)
        return DbCredentials(str(data["username"]), str(data["password"]))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"DB_SECRET_ARN: secret {secret_arn} is not JSON with username and password") from None


def parameter(settings: Settings, name: str, property_name: str) -> str:
    """A SecureString parameter from SSM, decrypted."""

    def fetch() -> str:
        response = client(settings, "ssm").get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"]["Value"])

    return _cached(("ssm", name), property_name, name, fetch)


def _cached(key: tuple[str, str], property_name: str, ident: str, fetch: Callable[[], T]) -> T:
    with _lock:
        if key not in _cache:
            try:
                _cache[key] = fetch()
            except (ClientError, BotoCoreError) as exc:
                reason = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
                raise ConfigError(f"{property_name}: cannot read {ident} ({reason})") from None
        # The key names the kind of secret, so its entry is what this kind's fetch returned.
        return cast(T, _cache[key])


def app_secret_keys(settings: Settings) -> tuple[str, list[str]]:
    """The Flask key that signs, and the keys that still verify: SECRET_KEY's value is the signing key, then
    any earlier ones, separated by spaces (what `eb_tools secrets rotate STAGE flask-key` writes while a
    rotation reaches every process)."""
    keys = app_secret_key(settings).split()
    if not keys:
        raise ConfigError("SECRET_KEY: empty; it holds the signing key, then any keys that still verify")
    return keys[0], keys[1:]


def app_secret_key(settings: Settings) -> str:
    """The Flask secret key: from SSM in AWS; in a local run, one kept in the data folder."""
    if settings.secret_key_parameter:
        return parameter(settings, settings.secret_key_parameter, "SECRET_KEY_PARAMETER")
    if settings.secret_key:
        return settings.secret_key
    return local_secret_key(settings.data_dir)


def local_secret_key(data_dir: Path) -> str:
    """A key made once and kept in `data_dir` (mode 0600): the local stage's, shared by all its processes."""
    path = data_dir / "secret_key"
    if not path.exists():
        # Several local processes may start at once: write aside, then link atomically.
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"secret_key.{os.getpid()}")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
