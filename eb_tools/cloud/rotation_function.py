"""The hosted rotation functions the local Secrets Manager runs: MariaDBSingleUser and MySQLSingleUser.

AWS builds them from its templates (aws-samples/aws-secrets-manager-rotation-lambdas, SecretsManagerRDS
MariaDBRotationSingleUser and ...MySQLRotationSingleUser) and Secrets Manager invokes one once per step with
the version's token. Here each step does what the template's does, against the local Secrets Manager
(in-process: the rotation runs inside the request that started it) and against the real database the secret
names:

- every step first checks the version: rotation enabled, the token a version of the secret, AWSPENDING on it
  (AWSCURRENT already: nothing to do);
- createSecret: the token's AWSPENDING version keeps a value it has (a reattempt), else gets the current
  secret with a password from GetRandomPassword (its defaults, less the function's ExcludeCharacters);
- setSecret: log in with the pending password (already set: done), else with the current one, else the
  previous one (same user and host), and SET PASSWORD to the pending one, a statement a read replica replays
  from the binary log;
- testSecret: log in with the pending password;
- finishSecret: AWSCURRENT (AWSPREVIOUS follows) moves to the token's version.

A secret without host, username or password, or of another engine than the function's, is refused as the
templates refuse it ("Database engine must be set to 'mariadb' in order to use this rotation lambda"). Each
invocation logs to CloudWatch Logs group /aws/lambda/<function> as Lambda's Python runtime does: START, the
steps' [INFO] and [ERROR] lines, END.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymysql

from eb_tools.cloud.moto_internals import SecretsManagerClientError, logs_backends

ENGINES = {"MariaDBSingleUser": "mariadb", "MySQLSingleUser": "mysql"}  # the function types run here
DEFAULT_EXCLUDED = "/@\"'\\"  # the templates' EXCLUDE_CHARACTERS when the function is given none
CONNECT_SECONDS = 5  # the templates' connect_timeout


@dataclass(frozen=True)
class HostedFunction:
    """A hosted rotation function, as its RotationSchedule's HostedRotationLambda describes it."""

    name: str
    arn: str
    rotation_type: str
    exclude_characters: str = DEFAULT_EXCLUDED

    @property
    def engine(self) -> str:
        return ENGINES[self.rotation_type]

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


class StepFailed(Exception):
    """A step raised, as the function's Lambda invocation fails: `step: Error: message`."""


class FunctionLog:
    """The function's CloudWatch Logs stream for one rotation (one execution environment)."""

    def __init__(self, account: str, region: str, function: HostedFunction) -> None:
        self.backend = logs_backends[account][region]
        self.group = function.log_group
        self.stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        if self.group not in self.backend.groups:
            self.backend.create_log_group(self.group, {})
        self.backend.create_log_stream(self.group, self.stream)
        self.request = ""

    def line(self, text: str) -> None:
        self.backend.put_log_events(self.group, self.stream, [{"timestamp": int(time.time() * 1000),
                                                               "message": text}])

    def info(self, message: str) -> None:
        self.line(f"[INFO]\t{datetime.now(UTC).isoformat(timespec='milliseconds')}\t{self.request}\t{message}")

    def error(self, message: str) -> None:
        self.line(f"[ERROR]\t{datetime.now(UTC).isoformat(timespec='milliseconds')}\t{self.request}\t{message}")

    @contextmanager
    def invocation(self, step: str) -> Iterator[None]:
        """One invocation: START and END around it; an exception is logged as the runtime logs an unhandled one
        and raised again as StepFailed."""
        self.request = str(uuid.uuid4())
        self.line(f"START RequestId: {self.request} Version: $LATEST")
        try:
            yield
        except (ValueError, KeyError, SecretsManagerClientError, pymysql.MySQLError) as error:
            reason = f"{type(error).__name__}: {error.args[0] if error.args else error}"
            self.line(f"[ERROR] {reason}")
            raise StepFailed(f"{step}: {reason}") from None
        finally:
            self.line(f"END RequestId: {self.request}")


@dataclass(frozen=True)
class Invocation:
    """What each step is invoked with: the secret, the version's token, and where it logs."""

    backend: Any  # moto's SecretsManagerBackend of the secret's account and region
    arn: str
    token: str
    function: HostedFunction
    log: FunctionLog


def run(backend: Any, arn: str, token: str, function: HostedFunction, log: FunctionLog) -> None:
    """Invoke the four steps in order, as Secrets Manager does; StepFailed names the first that failed."""
    for step, body in STEPS.items():
        with log.invocation(step):
            call = Invocation(backend, arn, token, function, log)
            if _staged_for_rotation(call):
                body(call)


def _staged_for_rotation(call: Invocation) -> bool:
    """The templates' lambda_handler checks: False when the version is current already (nothing to do)."""
    secret = call.backend.describe_secret(call.arn)
    if not secret.rotation_enabled:
        raise ValueError(f"Secret {call.arn} is not enabled for rotation")
    stages = secret.versions.get(call.token, {}).get("version_stages")
    if stages is None:
        raise ValueError(f"Secret version {call.token} has no stage for rotation of secret {call.arn}.")
    if "AWSCURRENT" in stages:
        call.log.info(f"Secret version {call.token} already set as AWSCURRENT for secret {call.arn}.")
        return False
    if "AWSPENDING" not in stages:
        raise ValueError(f"Secret version {call.token} not set as AWSPENDING for rotation of secret {call.arn}.")
    return True


def _secret(call: Invocation, stage: str, token: str | None = None) -> dict[str, Any]:
    """The version's JSON, checked as the template's get_secret_dict checks it."""
    found = json.loads(call.backend.get_secret_value(call.arn, token, stage)["SecretString"])
    if found.get("engine") != call.function.engine:
        raise KeyError(f"Database engine must be set to '{call.function.engine}' in order to use this rotation "
                       "lambda")
    for field in ("host", "username", "password"):
        if field not in found:
            raise KeyError(f"{field} key is missing from secret JSON")
    return dict(found)


def _pending_value(call: Invocation) -> bool:
    """Whether the token's version holds a value already (a rotation reattempted after its createSecret)."""
    return "secret_string" in call.backend.describe_secret(call.arn).versions.get(call.token, {})


def create_secret(call: Invocation) -> None:
    current = _secret(call, "AWSCURRENT")
    if _pending_value(call):
        call.log.info(f"createSecret: Successfully retrieved secret for {call.arn}.")
        return
    current["password"] = json.loads(call.backend.get_random_password(
        password_length=32, exclude_characters=call.function.exclude_characters, exclude_numbers=False,
        exclude_punctuation=False, exclude_uppercase=False, exclude_lowercase=False, include_space=False,
        require_each_included_type=True))["RandomPassword"]
    call.backend.put_secret_value(secret_id=call.arn, secret_string=json.dumps(current), secret_binary=None,
                                  client_request_token=call.token, version_stages=["AWSPENDING"])
    call.log.info(f"createSecret: Successfully put secret for ARN {call.arn} and version {call.token}.")


def set_secret(call: Invocation) -> None:
    pending, current = _secret(call, "AWSPENDING", call.token), _secret(call, "AWSCURRENT")
    connection = _connect(pending)
    if connection is not None:
        connection.close()
        call.log.info(f"setSecret: AWSPENDING secret is already set as password in the database for secret "
                      f"arn {call.arn}.")
        return
    for key in ("username", "host"):
        if current[key] != pending[key]:
            raise ValueError(f"Attempting to modify {key} {pending[key]} other than current {key} {current[key]}")
    connection = _connect(current) or _connect(_previous(call, pending))
    if connection is None:
        raise ValueError(f"Unable to log into database with previous, current, or pending secret of secret arn "
                         f"{call.arn}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            version = str(cursor.fetchone()[0])
            # MySQL 8 dropped PASSWORD(); MariaDB and MySQL 5.7 take it (the templates' get_password_option).
            option = "%s" if version.startswith("8") and "MariaDB" not in version else "PASSWORD(%s)"
            cursor.execute(f"SET PASSWORD = {option}", (pending["password"],))
        connection.commit()
    finally:
        connection.close()
    call.log.info(f"setSecret: Successfully set password for user {pending['username']} in the database for "
                  f"secret arn {call.arn}.")


def _previous(call: Invocation, pending: dict[str, Any]) -> dict[str, Any] | None:
    """The AWSPREVIOUS version, when there is one for the same user and host (a reattempt after the database
    took a password the secret never made current)."""
    try:
        previous = _secret(call, "AWSPREVIOUS")
    except (SecretsManagerClientError, KeyError):
        return None
    for key in ("username", "host"):
        if previous[key] != pending[key]:
            raise ValueError(f"Attempting to modify {key} {pending[key]} other than previous {key} {previous[key]}")
    return previous


def test_secret(call: Invocation) -> None:
    connection = _connect(_secret(call, "AWSPENDING", call.token))
    if connection is None:
        raise ValueError(f"Unable to log into database with pending secret of secret ARN {call.arn}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT NOW()")
    finally:
        connection.close()
    call.log.info(f"testSecret: Successfully signed into the database with AWSPENDING secret in {call.arn}.")


def finish_secret(call: Invocation) -> None:
    versions = call.backend.describe_secret(call.arn).versions
    current = next(v for v, version in versions.items() if "AWSCURRENT" in version["version_stages"])
    call.backend.update_secret_version_stage(call.arn, "AWSCURRENT", current, call.token)
    call.log.info(f"finishSecret: Successfully set AWSCURRENT stage to version {call.token} for secret {call.arn}.")


def _connect(secret: dict[str, Any] | None) -> pymysql.Connection | None:
    """A connection as the secret's user, or None when the server refuses it (or cannot be reached)."""
    if secret is None:
        return None
    try:
        return pymysql.connect(host=secret["host"], port=int(secret.get("port", 3306)), user=secret["username"],
                               password=secret["password"], database=secret.get("dbname"),
                               connect_timeout=CONNECT_SECONDS)
    except pymysql.OperationalError:
        return None


STEPS: dict[str, Callable[[Invocation], None]] = {"createSecret": create_secret, "setSecret": set_secret,
                                                  "testSecret": test_secret, "finishSecret": finish_secret}
