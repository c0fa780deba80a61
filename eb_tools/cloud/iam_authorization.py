"""IAM authorization of IAM users' requests, for a local cloud that enforces it (LocalCloud(enforce_iam=True)).

moto can judge requests by IAM policies, but only process-wide (its
INITIAL_NO_AUTH_ACTION_COUNT setting, which every cloud in the process would
share), every service's calls on resource "*", and with patterns that are
regular expressions (a "." in an ARN matches any character, "?" is not a
wildcard, actions compare case-sensitively). AWS judges each call as an action on
the resources it names (iam_requests.py) against the caller's identity-based
policies: an explicit Deny wins, else an Allow must match action and resource
(IAM User Guide, "Policy evaluation logic"); actions match case-insensitively,
"*" and "?" are the only wildcards, in actions and in ARNs (IAM JSON policy
elements: Action, Resource). Here: requests signed with an IAM user's access key
are judged so, from the user's inline and attached policies and those of its
groups (moto's IAM keeps them); a refusal is AWS's AccessDenied, in the
service's protocol, with AWS's message: "User: ARN is not authorized to perform:
ACTION on resource: RESOURCE because no identity-based policy allows the ACTION
action" (IAM User Guide, "Troubleshoot access denied error messages"). The
cloud's own credentials, and temporary ones (assumed roles), act unjudged, as an
administrator. A statement with a Condition is not evaluated: it never allows,
and a Deny with one always applies (the generated policies use none).
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from eb_tools.cloud.elasticbeanstalk.models import eb_local_backends
from eb_tools.cloud.iam_requests import UNJUDGED, Asked, Lookups, asked, credential
from eb_tools.cloud.moto_internals import (
    BACKENDS,
    DEFAULT_ACCOUNT_ID,
    CreateAccessKeyFailure,
    IAMUserAccessKey,
    cloudformation_backends,
)
from eb_tools.cloud.s3_post_policy import error_xml

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
REQUEST_ID = "LOCALIAMDENIED"


@cache
def _pattern(glob: str, case_sensitive: bool) -> re.Pattern[str]:
    """IAM's wildcards: "*" any run of characters, "?" any one; everything else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", re.DOTALL if case_sensitive else re.IGNORECASE | re.DOTALL)


def _matches(element: Any, value: str, case_sensitive: bool) -> bool:
    values = [element] if isinstance(element, str) else list(element or [])
    return any(_pattern(v, case_sensitive).match(value) for v in values)


def _applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        concerned = not _matches(statement["NotAction"], action, case_sensitive=False)
    else:
        concerned = _matches(statement.get("Action"), action, case_sensitive=False)
    if "NotResource" in statement:
        return concerned and not _matches(statement["NotResource"], resource, case_sensitive=True)
    return concerned and _matches(statement.get("Resource"), resource, case_sensitive=True)


def judge(documents: Iterable[Mapping[str, Any]], action: str, resource: str) -> str | None:
    """None when the policies allow `action` on `resource`; else why not, as AWS's message ends."""
    allowed = False
    for document in documents:
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, Mapping) else statements:
            if not _applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return "with an explicit deny in an identity-based policy"
            allowed = allowed or not statement.get("Condition")
    return None if allowed else f"because no identity-based policy allows the {action} action"


def _documents(user: IAMUserAccessKey) -> list[dict[str, Any]]:
    """The user's policy documents: inline ones (dicts) and the default versions of attached ones."""
    found = []
    policies: list[Any] = list(user.collect_policies())  # typed as dicts by moto; attached ones are Policy objects
    for policy in policies:
        if isinstance(policy, Mapping):
            found.append(json.loads(policy["policy_document"]))
        else:
            version = next(v for v in policy.versions if v.is_default)
            found.append(json.loads(version.document))
    return found


def _lookups(account: str, region: str) -> Lookups:
    """An EB environment's application and a change set's stack, from the backends (held by the caller)."""
    def application_of(name: str) -> str:
        environments = eb_local_backends[account][region].environments.values()
        return next((e.application for e in environments if e.name == name and e.status != "Terminated"), "*")

    def stack_of(change_set: str) -> str | None:
        found = cloudformation_backends[account][region].change_sets.get(change_set)
        return str(found.stack_id) if found is not None else None

    return Lookups(application_of, stack_of)


class IamEnforcement:
    """Judges IAM users' requests before `app` answers them (module docstring)."""

    def __init__(self, app: WSGIApp, own_keys: Iterable[str]) -> None:
        self.app = app
        self.own_keys = frozenset(own_keys)
        self.account = str(DEFAULT_ACCOUNT_ID)  # where the cloud's IAM users are (moto's default account)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        signed = credential(environ)
        found = self._user(signed[0]) if signed is not None and signed[0] not in self.own_keys else None
        if signed is None or found is None:  # unsigned, or not an IAM user's key: the cloud's administrator's
            return self.app(environ, start_response)
        (arn, documents), (_, region, service) = found, signed
        body = b""
        if service != "s3":  # S3's bodies are objects; its action and resource are in the method and path
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
        with BACKENDS:
            request = asked(environ, body, service, region, self.account, _lookups(self.account, region))
        if request.action in UNJUDGED:
            return self.app(environ, start_response)
        for resource in request.resources:
            reason = judge(documents, request.action, resource)
            if reason is not None:
                message = f"User: {arn} is not authorized to perform: {request.action} on resource: {resource} {reason}"
                return _refuse(request, environ.get("REQUEST_METHOD", ""), message, start_response)
        return self.app(environ, start_response)

    def _user(self, key: str) -> tuple[str, list[dict[str, Any]]] | None:
        """The ARN and policy documents of the IAM user whose access key `key` is; None when none's is."""
        with BACKENDS:
            try:
                user = IAMUserAccessKey(account_id=self.account, partition="aws", access_key_id=key, headers={})
            except CreateAccessKeyFailure:
                return None
            return user.arn, _documents(user)


def _refuse(request: Asked, method: str, message: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
    """AccessDenied as the service's protocol carries it (each protocol's error shape, botocore's parsers)."""
    if request.protocol == "s3":
        body = b"" if method == "HEAD" else error_xml("AccessDenied", message, REQUEST_ID)
        status, headers = "403 Forbidden", [("Content-Type", "application/xml")]
    elif request.protocol == "json":
        body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
        status, headers = "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")]
    elif request.protocol == "rest-json":
        body = json.dumps({"message": message}).encode()
        status, headers = "403 Forbidden", [("Content-Type", "application/json"),
                                            ("x-amzn-ErrorType", "AccessDeniedException")]
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}"
                f"</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>").encode()
        status, headers = "403 Forbidden", [("Content-Type", "text/xml")]
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]
