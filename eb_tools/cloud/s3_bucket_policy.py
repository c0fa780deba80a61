"""Bucket policies judged as S3 judges them, for signed and for anonymous requests.

Signed requests. The stage templates give every bucket the TLS-only statement
AWS recommends: Deny s3:* when `Bool: aws:SecureTransport: false`. moto (5.2)
does not know the `Bool` operator and treats an unknown operator as matched, and
it answers DENIED for any statement whose condition fails, Allow or Deny.
Together: every object request to such a bucket gets 403. S3 applies a statement
only when its condition holds, and a failed condition makes the statement not
apply. Here: `Bool` compares as IAM does (case-insensitive true/false), a
statement whose condition fails does not apply, and S3's checks evaluate
aws:SecureTransport as true: the local endpoint stands for S3's HTTPS endpoint
(TLS is not what the local cloud emulates; plain HTTP is only its transport).
Source: IAM User Guide, "IAM JSON policy elements: Condition operators" (Boolean).

Anonymous requests (no Authorization header, no signature in the query). moto
lets them write a new key, list a bucket, create one; S3 grants an anonymous
request only what the bucket policy grants to everyone (Principal "*"), or an
ACL grants AllUsers (S3 User Guide, "How Amazon S3 authorizes a request"; a
bucket's Block Public Access RestrictPublicBuckets ignores public policies,
IgnorePublicAcls public ACLs), and never a new bucket (CreateBucket: "Anonymous
requests are never allowed to create buckets"). Everything else gets S3's 403
AccessDenied. A browser form POST is not anonymous though unsigned: its policy
and signature decide (s3_post_policy.py). CORS preflights (OPTIONS) never reach
here: s3_cors.py answers them by the bucket's CORS rules, as S3 does.

CloudFront's origin requests. A distribution reads its S3 origins through origin
access control: it signs as the service principal cloudfront.amazonaws.com, and
S3 evaluates the bucket policy with aws:SourceArn the distribution's ARN and
aws:SourceAccount its account (CloudFront Developer Guide, "Restricting access to
an Amazon S3 origin"). The local CDN stand-in (cdn.py) makes its origin requests
inside `as_distribution(arn)`: they are judged as that distribution's, by the
statements for cloudfront.amazonaws.com and those for everyone; any other unsigned
request is anonymous. Requests are judged by action names of the IAM form:
s3:GetObject, s3:PutObject, s3:ListBucket, s3:ListBucketVersions,
s3:Get/Put/DeleteBucket<Subresource> for a bucket's configuration (the local
cloud's own naming where IAM's differs in case, such as GetBucketCORS). Condition
keys compare case-insensitively, as IAM's do.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs, urlparse

from eb_tools.cloud.moto_internals import (
    FakeBucket,
    MissingBucket,
    S3Response,
    access_control,
    once,
    policy_conditions,
    replace,
)
from eb_tools.cloud.s3_post_policy import error_xml, is_browser_post

REQUEST_CONTEXT = {"aws:securetransport": "true"}
SIGNATURE_PARAMETERS = {"X-Amz-Signature", "X-Amz-Credential", "Signature", "AWSAccessKeyId"}
CLOUDFRONT = "cloudfront.amazonaws.com"
# Query parameters that name a bucket's configuration rather than filter a listing.
BUCKET_SUBRESOURCES = {
    "accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering", "inventory", "lifecycle",
    "location", "logging", "metrics", "notification", "object-lock", "ownershipControls", "policy",
    "policyStatus", "publicAccessBlock", "replication", "requestPayment", "tagging", "versioning", "website",
}
VERBS = {"GET": "Get", "HEAD": "Get", "PUT": "Put", "POST": "Put", "DELETE": "Delete"}
Response = tuple[int, dict[str, str], bytes]

# The judgement of the anonymous request being answered, for moto's own checks further in (one thread per
# request in the local cloud's server, so one context each).
_ANONYMOUS: ContextVar[access_control.PermissionResult | None] = ContextVar("anonymous_permission", default=None)
# The CloudFront distribution (its ARN) whose origin requests this thread is making, if any.
_DISTRIBUTION: ContextVar[str | None] = ContextVar("origin_request_distribution", default=None)


@contextmanager
def as_distribution(arn: str) -> Iterator[None]:
    """Unsigned requests made inside are distribution `arn`'s origin requests, signed by its origin access
    control (only code in this process can say so: no header or credential of the local cloud does)."""
    token = _DISTRIBUTION.set(arn)
    try:
        yield
    finally:
        _DISTRIBUTION.reset(token)


def _bool_equals(expected_value: list[str] | str, actual_value: str) -> bool:
    values = expected_value if isinstance(expected_value, list) else [expected_value]
    return any(str(value).lower() == str(actual_value).lower() for value in values)


def register() -> None:
    """Install the corrections (once per process)."""
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
        anonymous = _ANONYMOUS.get()
        if anonymous is not None:  # judged already, by the requester's principal
            return anonymous
        if self.policy is None:
            return access_control.PermissionResult.NEUTRAL
        document = json.loads(self.policy)
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        return _judge([_lowercase_keys(statement) for statement in statements], action, resource, REQUEST_CONTEXT)

    # moto offers no hook for condition operators, the request context or the requester: these are its
    # extension points.
    replace(statement, "is_action_permitted", is_action_permitted)
    replace(FakeBucket, "get_permission", get_permission)
    replace(S3Response, "_bucket_response", _judged(S3Response._bucket_response, objects=False))
    replace(S3Response, "_key_response", _judged(S3Response._key_response, objects=True))


def _judged(answer: Callable[..., Any], objects: bool) -> Callable[..., Any]:
    """moto's bucket or object request handler, behind S3's judgement of anonymous requests."""

    def respond(self: S3Response, request: Any, full_url: str) -> Any:
        query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
        method = request.method
        signed = "Authorization" in request.headers or bool(SIGNATURE_PARAMETERS & query.keys())
        form = is_browser_post(method, request.headers.get("Content-Type", ""), urlparse(full_url).path, signed)
        if signed or form:
            return answer(self, request, full_url)
        bucket_name = self.parse_bucket_name_from_url(request, full_url)
        key_name = self.parse_key_name() if objects else None
        action = object_action(method, query) if key_name else bucket_action(method, query)
        if not bucket_name:
            return _access_denied(method)  # ListBuckets
        try:
            bucket = self.backend.get_bucket(bucket_name)
        except MissingBucket:
            # S3 tells anyone that a bucket does not exist, and refuses anyone a new one.
            return _access_denied(method) if action == "s3:CreateBucket" else answer(self, request, full_url)
        bucket_arn = f"arn:{bucket.partition}:s3:::{bucket_name}"
        distribution = _DISTRIBUTION.get()

        def permission(action: str, resource: str, acl: Any) -> access_control.PermissionResult:
            if distribution is None:
                return anonymous_permission(bucket, action, resource, acl)
            return distribution_permission(bucket, action, resource, distribution, acl)

        stored = self.backend.get_object(bucket_name, key_name) if key_name and action == "s3:GetObject" else None
        acl = getattr(stored, "acl", None) if key_name else bucket.acl if action == "s3:ListBucket" else None
        result = permission(action, f"{bucket_arn}/{key_name}" if key_name else bucket_arn, acl)
        if result != access_control.PermissionResult.PERMITTED:
            return _access_denied(method)
        # A missing key: 404 only to a requester who may list the bucket, else 403 (S3 API reference, GetObject).
        if (key_name and action == "s3:GetObject" and stored is None
                and permission("s3:ListBucket", bucket_arn, bucket.acl) != access_control.PermissionResult.PERMITTED):
            return _access_denied(method)
        token = _ANONYMOUS.set(result)
        try:
            return answer(self, request, full_url)
        finally:
            _ANONYMOUS.reset(token)

    return respond


def anonymous_permission(bucket: FakeBucket, action: str, resource: str,
                         acl: Any = None) -> access_control.PermissionResult:
    """What S3 answers an anonymous request for `action` on `resource`: PERMITTED, DENIED or NEUTRAL (which
    S3 refuses too). `acl`: the object's (for a read) or the bucket's (for a listing) moto FakeAcl."""
    return _unsigned_permission(bucket, action, resource, acl, service=None, context=REQUEST_CONTEXT)


def distribution_permission(bucket: FakeBucket, action: str, resource: str, distribution: str,
                            acl: Any = None) -> access_control.PermissionResult:
    """What S3 answers CloudFront distribution `distribution` (its ARN) reading through origin access
    control: the statements for cloudfront.amazonaws.com and for everyone, with the request context OAC gives."""
    account = distribution.split(":")[4]
    context = {**REQUEST_CONTEXT, "aws:sourcearn": distribution, "aws:sourceaccount": account}
    return _unsigned_permission(bucket, action, resource, acl, service=CLOUDFRONT, context=context)


def _unsigned_permission(bucket: FakeBucket, action: str, resource: str, acl: Any, service: str | None,
                         context: dict[str, str]) -> access_control.PermissionResult:
    block = getattr(bucket, "public_access_block", None)
    statements = _statements_for(bucket, service, restrict_public=bool(block and block.restrict_public_buckets))
    result = _judge(statements, action, resource, context)
    if (result == access_control.PermissionResult.NEUTRAL and acl is not None and acl.public_read
            and not (block and block.ignore_public_acls)):
        return access_control.PermissionResult.PERMITTED
    return result


def _judge(statements: list[dict[str, Any]], action: str, resource: str,
           context: dict[str, str]) -> access_control.PermissionResult:
    if not statements:
        return access_control.PermissionResult.NEUTRAL
    policy = access_control.IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return policy.is_action_permitted(action, resource, incoming_condition_values=context)


def _statements_for(bucket: FakeBucket, service: str | None, restrict_public: bool) -> list[dict[str, Any]]:
    """The bucket policy's statements that apply to an unsigned requester: those for everyone, and those
    for `service` when the request is that service principal's (condition keys in lower case)."""
    if bucket.policy is None:
        return []
    document = json.loads(bucket.policy)
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    applicable = []
    for statement in statements:
        principal = statement.get("Principal")
        if _names(principal, "AWS") & {"*"} or principal == "*":
            if statement.get("Effect") == "Allow" and restrict_public:
                continue  # Block Public Access: public grants are ignored, denials still apply
            applicable.append(_lowercase_keys(statement))
        elif service is not None and service in _names(principal, "Service"):
            applicable.append(_lowercase_keys(statement))
    return applicable


def _lowercase_keys(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement with its condition keys in lower case: IAM compares condition key names
    case-insensitively (AWS:SourceArn is aws:SourceArn), moto exactly."""
    condition = statement.get("Condition")
    if not condition:
        return statement
    return {**statement, "Condition": {operator: {key.lower(): value for key, value in values.items()}
                                       for operator, values in condition.items()}}


def _names(principal: Any, kind: str) -> set[str]:
    if not isinstance(principal, Mapping):
        return set()
    names = principal.get(kind, [])
    return {names} if isinstance(names, str) else set(names)



def object_action(method: str, query: Mapping[str, Any]) -> str:
    verb = VERBS.get(method, method.title())
    for subresource, name in (("acl", "Acl"), ("tagging", "Tagging")):
        if subresource in query:
            return f"s3:{verb}Object{name}"
    if "uploadId" in query and method in ("GET", "DELETE"):
        return "s3:ListMultipartUploadParts" if method == "GET" else "s3:AbortMultipartUpload"
    if "versionId" in query and method in ("GET", "HEAD", "DELETE"):
        return f"s3:{verb}ObjectVersion"
    return f"s3:{verb}Object"


def bucket_action(method: str, query: Mapping[str, Any]) -> str:
    if "versions" in query:
        return "s3:ListBucketVersions"
    if "uploads" in query:
        return "s3:ListBucketMultipartUploads"
    if method == "POST" and "delete" in query:
        return "s3:DeleteObject"
    subresource = next((name for name in query if name in BUCKET_SUBRESOURCES), None)
    if subresource is None:
        return {"PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}.get(method, "s3:ListBucket")
    name = "".join(part[:1].upper() + part[1:] for part in subresource.split("-"))
    return f"s3:{VERBS.get(method, method.title())}Bucket{name}"


def _access_denied(method: str) -> Response:
    body = b"" if method == "HEAD" else error_xml("AccessDenied", "Access Denied", "LOCALANONYMOUS")
    return 403, {"Content-Type": "application/xml"}, body
