"""CORS on the local S3 endpoint as S3 does it: by the bucket's CORS rules, and nothing else.

moto's server answers every request with flask-cors's headers (any Origin is
echoed back, whatever the bucket allows), and its S3 answers a preflight by the
origin alone, 200 even for a bucket without CORS. Browsers would then accept
from the local cloud what S3 refuses. This WSGI middleware, in front of the
local cloud's app, owns CORS for S3 (path-style URLs, http://host/bucket/key,
the form the local endpoint is addressed with):

- A preflight (OPTIONS) is answered here, never by moto. S3 takes the first rule
  of the bucket's CORS configuration whose AllowedOrigins match the Origin (an
  origin may hold one `*` wildcard), whose AllowedMethods hold
  Access-Control-Request-Method, and whose AllowedHeaders match every header of
  Access-Control-Request-Headers (case-insensitively, `*` wildcards too). A match
  answers 200 with Access-Control-Allow-Origin/-Methods/-Headers/-Expose-Headers/
  -Max-Age; otherwise 403 AccessForbidden, "CORS is not enabled for this bucket."
  when the bucket has no configuration (S3 API reference, "OPTIONS object";
  S3 User Guide, "How does Amazon S3 evaluate the CORS configuration").
- Any other request with an Origin header gets those headers only when a rule
  matches its origin and method; moto's own Access-Control-* headers are dropped.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from eb_tools.cloud.moto_internals import bucket_cors
from eb_tools.cloud.s3_post_policy import error_xml

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Rule = dict[str, Any]  # one CORSRule, as PutBucketCors names its fields

NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
# S3's text, its spelling ("evalution") included.
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
               "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
               "whitelisted by the resource's CORS spec.")
NO_BUCKET = "CORSResponse: Bucket not found"
NO_ORIGIN = "Insufficient information. Origin request header needed."
NO_METHOD = "Invalid Access-Control-Request-Method: null"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
REQUEST_ID = "LOCALS3CORS"
# Paths of the endpoint that are not S3: moto's own API and dashboard.
NOT_S3 = ("/moto-api",)


class S3CorsMiddleware:
    """Answers S3 preflights and sets S3's CORS headers on S3's answers to browsers (module docstring)."""

    def __init__(self, app: WSGIApp, rules: Callable[[str], list[Rule] | None] = bucket_cors) -> None:
        self.app = app
        self.rules = rules  # a bucket's CORS rules ([]: none), None when there is no such bucket

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith(NOT_S3) or not _is_s3(environ):
            return self.app(environ, start_response)
        bucket, _, key = path.lstrip("/").partition("/")
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            return self._preflight(environ, start_response, bucket, key)
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            return self.app(environ, start_response)
        rules = self.rules(bucket) if bucket else None
        rule = match(rules or [], origin, environ.get("REQUEST_METHOD", ""), [])
        added = _headers(rule, origin, []) if rule else []

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(name, value) for name, value in headers
                    if not name.lower().startswith("access-control-") and name.lower() != "vary"]
            return start_response(status, kept + added, exc_info)

        return self.app(environ, respond)

    def _preflight(self, environ: dict[str, Any], start_response: Callable[..., Any], bucket: str,
                   key: str) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if not origin:
            return _error(start_response, "400 Bad Request", "BadRequest", NO_ORIGIN)
        if not method:
            return _error(start_response, "400 Bad Request", "BadRequest", NO_METHOD)
        requested = [name.strip().lower() for name in environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",")
                     if name.strip()]
        rules = self.rules(bucket) if bucket else None
        where = {"Method": method, "ResourceType": "OBJECT" if key else "BUCKET"}
        if rules is None:
            return _error(start_response, "403 Forbidden", "AccessForbidden", NO_BUCKET, **where)
        if not rules:
            return _error(start_response, "403 Forbidden", "AccessForbidden", NOT_ENABLED, **where)
        rule = match(rules, origin, method, requested)
        if rule is None:
            return _error(start_response, "403 Forbidden", "AccessForbidden", NOT_ALLOWED, **where)
        start_response("200 OK", [*_headers(rule, origin, requested), ("Content-Length", "0")])
        return [b""]


def match(rules: list[Rule], origin: str, method: str, requested: list[str]) -> Rule | None:
    """The first rule allowing `origin` to send `method` with the (lower-case) headers `requested`."""
    for rule in rules:
        if (any(_wildcard(allowed).fullmatch(origin) for allowed in rule["AllowedOrigins"])
                and method in rule["AllowedMethods"]
                and all(any(_wildcard(allowed.lower()).fullmatch(name) for allowed in rule["AllowedHeaders"])
                        for name in requested)):
            return rule
    return None


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _headers(rule: Rule, origin: str, requested: list[str]) -> list[tuple[str, str]]:
    """S3's CORS headers for a matched rule: the origin itself (or `*` for a rule allowing any origin)."""
    anyone = "*" in rule["AllowedOrigins"]
    headers = [("Access-Control-Allow-Origin", "*" if anyone else origin),
               ("Access-Control-Allow-Methods", ", ".join(rule["AllowedMethods"])), ("Vary", VARY)]
    if not anyone:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if requested:
        headers.append(("Access-Control-Allow-Headers", ", ".join(requested)))
    if rule["ExposeHeaders"]:
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    if rule["MaxAgeSeconds"] is not None:
        headers.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    return headers


def _is_s3(environ: dict[str, Any]) -> bool:
    """Unsigned (browsers), or signed for S3 (SigV4 credential scope .../s3/aws4_request)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    return not authorization or "/s3/aws4_request" in authorization


def _error(start_response: Callable[..., Any], status: str, code: str, message: str,
           **extra: str) -> Iterable[bytes]:
    body = error_xml(code, message, REQUEST_ID, **extra)
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]
