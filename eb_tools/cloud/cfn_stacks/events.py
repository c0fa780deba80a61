"""Stack events and failure reasons worded as CloudFormation words them.

describe_stack_events is how a deploy tool follows a stack and names what
failed, so every step of an operation leaves the event AWS would: the resource's
IN_PROGRESS, COMPLETE or FAILED with AWS's reason, and the stack's own
transitions with the status reason describe_stacks then shows.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from eb_tools.cloud.moto_internals import Stack
from eb_tools.cloud.moto_internals import StackEvent as Event

STACK_TYPE = "AWS::CloudFormation::Stack"


class StackOperationError(Exception):
    """A resource failure whose reason is already worded as CloudFormation's ResourceStatusReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def physical_id(instance: Any) -> str:
    return str(getattr(instance, "physical_resource_id", "") or "")


def _append(stack: Stack, event: Event) -> None:
    # Steps of one request run within the same millisecond; deploy tools page events by timestamp,
    # so each event is at least a millisecond after the one before, as AWS's always are.
    if stack.events and event.timestamp <= stack.events[-1].timestamp:
        event.timestamp = stack.events[-1].timestamp + timedelta(milliseconds=1)
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def resource_event(stack: Stack, name: str, resource_type: str, status: str, physical: str = "",
                   reason: str | None = None, properties: Any = None) -> None:
    """An event of one resource; `properties` (the template's, as submitted) go out as JSON, as AWS's do."""
    _append(stack, Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=name,
                         physical_resource_id=physical, resource_type=resource_type, resource_status=status,
                         resource_status_reason=reason,
                         resource_properties=json.dumps(properties, default=str) if properties is not None else None))


def stack_event(stack: Stack, status: str, reason: str | None = None) -> None:
    """The stack's own transition: its status, the reason describe_stacks shows, and the event."""
    stack.status = status
    stack.status_reason = reason  # type: ignore[attr-defined]  # StackStatusReason, which moto's Stack lacks
    _append(stack, Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=stack.name,
                         physical_resource_id=stack.stack_id, resource_type=STACK_TYPE, resource_status=status,
                         resource_status_reason=reason, resource_properties=None))


def _handler_code(code: str) -> str:
    """The CloudFormation HandlerErrorCode closest to a service's error code."""
    for fragment, handler_code in (("AlreadyExists", "AlreadyExists"), ("Duplicate", "AlreadyExists"),
                                   ("NotFound", "NotFound"), ("NonExistent", "NotFound"), ("NoSuch", "NotFound"),
                                   ("Throttl", "Throttling"), ("AccessDenied", "AccessDenied"),
                                   ("LimitExceeded", "ServiceLimitExceeded")):
        if fragment in code:
            return handler_code
    return "InvalidRequest"


def failure_reason(error: Exception, resource_type: str) -> str:
    """ResourceStatusReason for a resource that failed: AWS's resource-handler wording around the
    service's own message. A crash inside the emulation (moto's KeyError and the like) is named as
    the local cloud's failure, not passed off as AWS's answer."""
    if isinstance(error, StackOperationError):
        return error.reason
    token = uuid.uuid4()
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    message = getattr(error, "message", None)
    if isinstance(code, str) and message:
        service = resource_type.split("::")[1] if resource_type.count("::") == 2 else resource_type
        message = f"{message} (Service: {service}, Status Code: 400, Request ID: {uuid.uuid4()})"
        return f'Resource handler returned message: "{message}" (RequestToken: {token}, ' \
               f"HandlerErrorCode: {_handler_code(code)})"
    crash = f"The local cloud failed on this resource: {type(error).__name__}: {error}"
    return f'Resource handler returned message: "{crash}" (RequestToken: {token}, HandlerErrorCode: InternalFailure)'
