"""Bucket policies judged as S3 judges them, where moto's judgement turns a guard into a wall.

The stage templates give every bucket the TLS-only statement AWS recommends:
Deny s3:* when `Bool: aws:SecureTransport: false`. moto (5.2) does not know the
`Bool` operator and treats an unknown operator as matched, and it answers DENIED
for any statement whose condition fails, Allow or Deny. Together: every object
request to such a bucket gets 403. S3 applies a statement only when its
condition holds, and a failed condition makes the statement not apply.

Here: `Bool` compares as IAM does (case-insensitive true/false), a statement
whose condition fails does not apply, and S3's object checks evaluate
aws:SecureTransport as true: the local endpoint stands for S3's HTTPS endpoint
(TLS is not what the local cloud emulates; plain HTTP is only its transport).
Source: IAM User Guide, "IAM JSON policy elements: Condition operators" (Boolean).
"""
from __future__ import annotations

from typing import Any

from eb_tools.local.moto_internals import FakeBucket, access_control, once, policy_conditions, replace

REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def _bool_equals(expected_value: list[str] | str, actual_value: str) -> bool:
    values = expected_value if isinstance(expected_value, list) else [expected_value]
    return any(str(value).lower() == str(actual_value).lower() for value in values)


def register() -> None:
    """Install the three corrections (once per process)."""
    once("s3_bucket_policy", _install)


def _install() -> None:
    policy_conditions.CONDITION_OPERATIONS["Bool"] = _bool_equals
    statement = access_control.IAMPolicyStatement
    judged = statement.is_action_permitted

    def is_action_permitted(self: Any, action: str, resource: str = "*", principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        if self._statement.get("Condition") and not self._check_conditions(incoming_condition_values):
            return access_control.PermissionResult.NEUTRAL  # the statement does not apply
        return judged(self, action, resource, principal, incoming_condition_values)

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return access_control.PermissionResult.NEUTRAL
        policy = access_control.IAMPolicy(self.policy.decode())
        return policy.is_action_permitted(action, resource, incoming_condition_values=REQUEST_CONTEXT)

    # moto offers no hook for condition operators or the request context: these are its extension points.
    replace(statement, "is_action_permitted", is_action_permitted)
    replace(FakeBucket, "get_permission", get_permission)
