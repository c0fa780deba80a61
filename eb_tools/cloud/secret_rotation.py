"""Secrets Manager's rotation of a secret whose function is a hosted one: RotateSecret runs it for real, and
its schedule falls due on the cloud's clock.

moto's RotateSecret, without a Lambda function it can invoke, adds an AWSPENDING version with no value and
makes it AWSCURRENT: the secret loses its value and nothing rotates. A RotationSchedule's HostedRotationLambda
(cfn_resources/rotation_schedule.py) gives a secret a hosted function instead (rotation_function.py), and
RotateSecret on it does what Secrets Manager does (API reference, RotateSecret; "How rotation works"):

- a new version, the request's ClientRequestToken or a new id, labelled AWSPENDING, then the function's four
  steps; the answer is the ARN, name and that VersionId whatever the steps do, for the rotation is
  asynchronous: a failure shows in the function's logs and in the versions (AWSPENDING stays where
  createSecret left it, AWSCURRENT where it was), a success in LastRotatedDate, AWSCURRENT and AWSPREVIOUS
  (AWSPENDING is then removed: "attached to the same version as AWSCURRENT, or ... not attached to any");
- with AWSPENDING on a version AWSCURRENT is not on, RotateSecret answers InvalidRequestException "A previous
  rotation isn't complete. That rotation will be reattempted." (terraform-provider-aws#35023) and the
  function runs again with that version's token;
- RotateImmediately false only stores the rules (the test of the function is not emulated);
- RotationRules' AutomaticallyAfterDays schedules the next rotation that many days after the last one
  (RotationRulesType): NextRotationDate. Due rotations run before any Secrets Manager request the cloud
  serves, and `run_due` runs them on demand. A day lasts `RotationClock.day_seconds` of the cloud's clock
  (86,400 s, or less in tests); a failed scheduled rotation is tried again a day later.

RotateSecret on a secret with no rotation function at all is refused as AWS refuses it ("No Lambda rotation
function ARN is associated with this secret.", moto's pull request 3912 quoting the AWS CLI).
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eb_tools.cloud import rotation_function
from eb_tools.cloud.moto_internals import (
    SecretsInvalidRequest,
    SecretsManagerBackend,
    SecretsManagerResponse,
    once,
    replace,
)
from eb_tools.cloud.per_request import PerRequest
from eb_tools.cloud.rotation_function import FunctionLog, HostedFunction, StepFailed

INCOMPLETE = "A previous rotation isn't complete. That rotation will be reattempted."
NO_FUNCTION = "No Lambda rotation function ARN is associated with this secret."


@dataclass
class RotationClock:
    """How long a day of rotation schedules lasts on a cloud's clock."""

    day_seconds: float = 86_400.0


@dataclass
class Schedule:
    """A secret's hosted rotation: kept on moto's secret (`local_rotation`)."""

    function: HostedFunction
    days: int
    since: float = field(default_factory=time.time)  # the period's start: set up, or the last rotation
    retry_at: float | None = None  # after a failed scheduled rotation
    failure: str = ""  # the last rotation's failure, as the function logged it

    def due(self, day_seconds: float) -> float:
        return self.retry_at if self.retry_at is not None else self.since + self.days * day_seconds


_CLOCK: PerRequest[RotationClock] = PerRequest("local_cloud_rotation_clock", RotationClock)
serving_with = _CLOCK.serving
applied = _CLOCK.applied


def register() -> None:
    once("secret_rotation", _install)


def _install() -> None:
    replace(SecretsManagerBackend, "rotate_secret", _rotating(SecretsManagerBackend.rotate_secret))
    original: Any = SecretsManagerResponse.backend  # a property

    def backend(response: Any) -> Any:
        """The response's backend, its due rotations run first."""
        found = original.fget(response)
        run_due(found)
        return found

    replace(SecretsManagerResponse, "backend", property(backend))


def schedule_of(secret: Any) -> Schedule | None:
    found = getattr(secret, "local_rotation", None)
    return found if isinstance(found, Schedule) else None


def configure(backend: Any, secret_id: str, function: HostedFunction, days: int, rotate_now: bool) -> None:
    """A RotationSchedule's hosted function and rules on the secret (RotateSecret with RotationRules)."""
    secret = backend.describe_secret(secret_id)
    previous = schedule_of(secret)  # a changed schedule still counts from the last rotation
    secret.local_rotation = Schedule(function, days, since=previous.since if previous else time.time())
    secret.rotation_requested = secret.rotation_enabled = True
    secret.rotation_lambda_arn = function.arn
    secret.auto_rotate_after_days = days
    _show_next(secret)
    if rotate_now:
        _rotate(backend, secret, secret.local_rotation, str(uuid.uuid4()))


def cancel(backend: Any, secret_id: str) -> None:
    """The schedule removed with its function (CancelRotateSecret): nothing rotates it any more."""
    secret = backend.secrets.get(secret_id)
    if secret is not None:
        secret.local_rotation = None
        secret.rotation_enabled = False
        secret.next_rotation_date = None


def _show_next(secret: Any) -> None:
    found = schedule_of(secret)
    secret.next_rotation_date = found.due(_CLOCK.current().day_seconds) if found else None


def _rotating(original: Callable[..., Any]) -> Callable[..., Any]:
    def rotate_secret(backend: Any, secret_id: str, client_request_token: str | None = None,
                      rotation_lambda_arn: str | None = None, rotation_rules: dict[str, Any] | None = None,
                      rotate_immediately: bool = True) -> str:
        secret = backend.describe_secret(secret_id)
        found = schedule_of(secret)
        if found is None or rotation_lambda_arn not in (None, found.function.arn):
            if not (rotation_lambda_arn or secret.rotation_lambda_arn):
                raise SecretsInvalidRequest(NO_FUNCTION)
            return str(original(backend, secret_id, client_request_token,
                                rotation_lambda_arn or secret.rotation_lambda_arn, rotation_rules, rotate_immediately))
        secret.rotation_enabled = True
        if rotation_rules and "AutomaticallyAfterDays" in rotation_rules:
            found.days = int(rotation_rules["AutomaticallyAfterDays"])
            secret.auto_rotate_after_days = found.days
        _show_next(secret)
        unfinished = _unfinished(secret)
        if unfinished is not None:
            _rotate(backend, secret, found, unfinished)
            raise SecretsInvalidRequest(INCOMPLETE)
        answer = {"ARN": secret.arn, "Name": secret.name}
        if rotate_immediately:
            answer["VersionId"] = client_request_token or str(uuid.uuid4())
            _rotate(backend, secret, found, answer["VersionId"])
        return json.dumps(answer)

    return rotate_secret


def _unfinished(secret: Any) -> str | None:
    """The version AWSPENDING is on while AWSCURRENT is not: a rotation that did not finish."""
    return next((version for version, value in secret.versions.items()
                 if "AWSPENDING" in value["version_stages"] and "AWSCURRENT" not in value["version_stages"]), None)


def _rotate(backend: Any, secret: Any, found: Schedule, token: str) -> bool:
    """Run the hosted function for version `token` (made AWSPENDING, without a value, unless it exists); whether
    it succeeded. The outcome is the secret's: its versions, LastRotatedDate, NextRotationDate."""
    if token not in secret.versions:
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    log = FunctionLog(backend.account_id, backend.region_name, found.function)
    try:
        rotation_function.run(backend, secret.arn, token, found.function, log)
    except StepFailed as failure:
        found.failure = str(failure)
        found.retry_at = time.time() + _CLOCK.current().day_seconds
        _show_next(secret)
        return False
    stages = secret.versions[token]["version_stages"]
    if "AWSPENDING" in stages:
        stages.remove("AWSPENDING")
    found.since, found.retry_at, found.failure = time.time(), None, ""
    secret.last_rotation_date = found.since
    _show_next(secret)
    return True


def run_due(backend: Any) -> None:
    """Rotate the backend's secrets whose schedule has fallen due on the serving cloud's clock; the others'
    NextRotationDate follows that clock."""
    now, day = time.time(), _CLOCK.current().day_seconds
    for secret in list(backend.secrets.values()):
        found = schedule_of(secret)
        if found is None or not getattr(secret, "rotation_enabled", False):
            continue
        if found.due(day) <= now:
            _rotate(backend, secret, found, _unfinished(secret) or str(uuid.uuid4()))
        _show_next(secret)
