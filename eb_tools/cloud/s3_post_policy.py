"""S3 browser-POST policy enforcement, which moto's S3 lacks.

moto stores a presigned POST whatever its policy says. Real S3 checks the
SigV4 signature over the policy, its expiration, every condition and the
content-length-range, and answers with well-known XML errors. This WSGI
middleware sits in front of moto's app and does exactly that for path-style
POSTs (http://host/bucket), the form the local endpoint is addressed with.
Documented in the S3 API reference, "Creating a POST policy" and "RESTObjectPOST".
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
# Fields S3 never requires a condition for (the S3 docs, "Creating a POST policy").
UNCOVERED_FIELDS = {"x-amz-signature", "signature", "awsaccesskeyid", "file", "policy"}


class PolicyError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def xml(self) -> bytes:
        return error_xml(self.code, self.message, "LOCALPOSTPOLICY", **self.extra)


def error_xml(code: str, message: str, request_id: str, **extra: object) -> bytes:
    """S3's error document (S3 API reference, "Error responses"); the RequestId names the local check."""
    fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in extra.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


class S3PostPolicyMiddleware:
    """Checks browser POST uploads against their policy before moto stores them."""

    def __init__(self, app: WSGIApp, credentials: Mapping[str, str], now: Callable[[], datetime] | None = None):
        self.app = app
        self.credentials = dict(credentials)
        self.now = now or (lambda: datetime.now(UTC))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not _is_browser_post(environ):
            return self.app(environ, start_response)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        bucket = environ.get("PATH_INFO", "/").strip("/")
        try:
            self.verify(bucket, _parse(environ, raw))
        except PolicyError as error:
            body = error.xml()
            start_response(
                f"{error.status} {'Forbidden' if error.status == 403 else 'Bad Request'}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
        environ["wsgi.input"] = io.BytesIO(raw)
        return self.app(environ, start_response)

    def verify(self, bucket: str, form: PostForm) -> None:
        fields = form.fields
        policy_b64 = fields.get("policy")
        if not policy_b64:
            raise PolicyError(403, "AccessDenied", "Bucket POST must contain a field named 'policy'.")
        self._check_signature(policy_b64, fields)
        try:
            policy = json.loads(base64.b64decode(policy_b64))
            expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
            conditions = list(policy["conditions"])
        except (ValueError, KeyError, TypeError):
            raise PolicyError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
        if expiration <= self.now():
            raise PolicyError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        values = {**fields, "bucket": bucket}
        covered: set[str] = set()
        for condition in conditions:
            covered |= _check_condition(condition, values, form.file_size)
        extra = sorted(name for name in fields if name not in covered | UNCOVERED_FIELDS
                       and not name.startswith("x-ignore-"))
        if extra:
            raise PolicyError(403, "AccessDenied",
                              f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")

    def _check_signature(self, policy_b64: str, fields: Mapping[str, str]) -> None:
        if "awsaccesskeyid" in fields:  # Signature Version 2, still accepted by S3 for POST
            secret = self._secret(fields["awsaccesskeyid"])
            digest = hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()
            self._compare(base64.b64encode(digest).decode(), fields.get("signature", ""))
            return
        credential = fields.get("x-amz-credential", "")
        parts = credential.split("/")
        if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or len(parts) != 5:
            raise PolicyError(400, "InvalidArgument", "POST requires a valid AWS4-HMAC-SHA256 x-amz-credential.")
        access_key, date, region, service, _ = parts
        key = f"AWS4{self._secret(access_key)}".encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
        self._compare(expected, fields.get("x-amz-signature", ""))

    def _secret(self, access_key: str) -> str:
        secret = self.credentials.get(access_key)
        if secret is None:
            raise PolicyError(403, "InvalidAccessKeyId",
                              "The AWS Access Key Id you provided does not exist in our records.",
                              AWSAccessKeyId=access_key)
        return secret

    @staticmethod
    def _compare(expected: str, given: str) -> None:
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise PolicyError(403, "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature you "
                              "provided. Check your key and signing method.")


class PostForm:
    def __init__(self, fields: dict[str, str], file_size: int) -> None:
        self.fields, self.file_size = fields, file_size


def _is_browser_post(environ: Mapping[str, Any]) -> bool:
    return is_browser_post(environ.get("REQUEST_METHOD", ""), environ.get("CONTENT_TYPE", ""),
                           environ.get("PATH_INFO", "/"), bool(environ.get("HTTP_AUTHORIZATION")))


def is_browser_post(method: str, content_type: str, path: str, has_authorization: bool) -> bool:
    """A form upload to a path-style bucket URL: what this middleware checks (the signature is the form's)."""
    bucket = path.strip("/")
    return (method == "POST" and content_type.startswith("multipart/form-data")
            and bool(bucket) and "/" not in bucket and not has_authorization)


def _parse(environ: dict, raw: bytes) -> PostForm:
    copy = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
    _, form, files = parse_form_data(copy, max_form_memory_size=None)
    if "file" not in files:
        raise PolicyError(400, "InvalidArgument", "POST requires exactly one file upload per request.",
                          ArgumentName="file", ArgumentValue="0")
    data = files["file"].read()
    # S3 compares field names case-insensitively: "Content-Type" matches "$content-type".
    return PostForm({name.lower(): value for name, value in form.items()}, len(data))


def _check_condition(condition: object, values: Mapping[str, str], size: int) -> set[str]:
    """Raise PolicyError when `condition` fails; return the field names it covers."""
    failed = PolicyError(403, "AccessDenied",
                         f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")
    if isinstance(condition, dict) and len(condition) == 1:
        (name, expected), = condition.items()
        if values.get(name.lower()) != expected:
            raise failed
        return {name.lower()}
    if not isinstance(condition, list) or len(condition) != 3:
        raise PolicyError(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")
    op, name, expected = condition
    if op == "content-length-range":
        low, high = int(name), int(expected)
        if size > high:
            raise PolicyError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                              ProposedSize=size, MaxSizeAllowed=high)
        if size < low:
            raise PolicyError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                              ProposedSize=size, MinSizeAllowed=low)
        return set()
    field = str(name).lstrip("$").lower()
    actual = values.get(field)
    if op == "eq" and actual != expected:
        raise failed
    if op == "starts-with" and (actual is None or not actual.startswith(str(expected))):
        raise failed
    if op not in ("eq", "starts-with"):
        raise PolicyError(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")
    return {field}
