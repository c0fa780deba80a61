"""A CloudFront stand-in: the local cloud's distributions, served to browsers as CloudFront serves them.

In AWS browsers read a stage's images from its CloudFront distribution, which
reads the uploads bucket through origin access control: the bucket policy lets
the service principal cloudfront.amazonaws.com read `variants/*` when
aws:SourceArn is that distribution, and refuses everyone else, browsers
included. Here each distribution the local cloud holds (created by its stage's
AWS::CloudFront::Distribution, cfn_resources/cloudfront.py) is served under
`<cdn base>/<distribution id>/<path>`, as CloudFront would serve it:

- GET and HEAD only, as the behaviour's AllowedMethods say; any other method
  gets CloudFront's 403 "This distribution is not configured to allow the HTTP
  request method that was used for this request. The distribution supports only
  cachable requests." An unknown distribution id: 404.
- The first cache behaviour whose PathPattern matches (`*` and `?` wildcards,
  case-sensitive), else the default one, names the origin; an S3 origin's
  DomainName names its bucket. The origin request is a real S3 GetObject on the
  local cloud, made in-process as the distribution (s3_bucket_policy.as_distribution):
  the bucket policy decides, and its 403 AccessDenied (or 404) is passed on with
  `X-Cache: Error from cloudfront`.
- Answers are cached in memory by distribution and path (the managed cache
  policies key on the path only) for the TTL CloudFront derives from the
  object's Cache-Control and the behaviour's cache policy: s-maxage, else
  max-age, clamped to [MinTTL, MaxTTL]; no-cache/no-store/private: MinTTL;
  none: DefaultTTL (CloudFront Developer Guide, "Manage how long content stays
  in the cache (expiration)"). A hit says `X-Cache: Hit from cloudfront` with
  `Age`; a miss `Miss from cloudfront`. Errors are not cached here (CloudFront
  keeps them 10 s by default), so an image the worker has just written shows at
  once.
- The managed response headers policy SecurityHeadersPolicy adds its headers.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from eb_tools.aws import client, local_session
from eb_tools.cloud.s3_bucket_policy import as_distribution

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Distribution = dict[str, Any]  # GetDistribution's Distribution

# The AWS managed cache policies (CloudFront Developer Guide, "Use managed cache policies"): MinTTL,
# DefaultTTL, MaxTTL in seconds.
CACHE_POLICIES = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": (1, 86400, 31536000),  # CachingOptimized
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": (1, 86400, 31536000),  # CachingOptimizedForUncompressedObjects
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": (0, 0, 0),  # CachingDisabled
}
# The AWS managed response headers policies ("Use managed response headers policies").
RESPONSE_HEADERS_POLICIES = {
    "67f7725c-6f97-4210-82d7-5512b31e9d03": {  # SecurityHeadersPolicy
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Strict-Transport-Security": "max-age=31536000",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "X-XSS-Protection": "1; mode=block",
    },
}
METHOD_NOT_ALLOWED = ("This distribution is not configured to allow the HTTP request method that was used for "
                      "this request. The distribution supports only cachable requests.")
# What an S3 origin's answer keeps on its way to the viewer.
PASSED_ON = ("Content-Type", "Content-Length", "Content-Encoding", "Content-Disposition", "Content-Language",
             "Cache-Control", "Expires", "ETag", "Last-Modified", "Accept-Ranges", "x-amz-version-id")
S3_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*)\.s3[.-]")
# How long a distribution's configuration is used before it is read again (CloudFront takes minutes to deploy
# a change to its edges; here it shows within this).
CONFIG_SECONDS = 1.0


@dataclass
class Cached:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    stored: float
    ttl: float


class CdnStandIn:
    """The WSGI app serving every distribution (module docstring). `distribution(id)` reads one from the
    local cloud (None: no such distribution); `origin` is the local cloud's own app, which origin requests
    go to in-process."""

    def __init__(self, origin: WSGIApp, distribution: Callable[[str], Distribution | None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.origin = Client(origin, use_cookies=False)  # shared by the server's threads: no state of its own
        self.distribution = distribution
        self.clock = clock
        self._cache: dict[tuple[str, str], Cached] = {}
        self._configs: dict[str, tuple[float, Distribution | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        distribution_id, _, path = request.path.lstrip("/").partition("/")
        found = self._configuration(distribution_id) if distribution_id else None
        if found is None:
            return _cloudfront_error(404, f"No distribution {distribution_id!r} in the local cloud.")
        config = found["DistributionConfig"]
        behaviour = _behaviour(config, path)
        if request.method not in behaviour["AllowedMethods"]["Items"]:
            return _cloudfront_error(403, METHOD_NOT_ALLOWED)
        ttls = CACHE_POLICIES.get(behaviour.get("CachePolicyId", ""))
        added = RESPONSE_HEADERS_POLICIES.get(behaviour.get("ResponseHeadersPolicyId") or "", {})
        if ttls is None or (behaviour.get("ResponseHeadersPolicyId") and not added):
            return _cloudfront_error(502, "The local CDN knows the AWS managed cache and response headers policies "
                                          f"only; behaviour {behaviour.get('PathPattern', '*')!r} names another.")
        key = (distribution_id, path)
        with self._lock:
            cached = self._cache.get(key)
        now = self.clock()
        if cached is not None and now - cached.stored < cached.ttl:
            state, age = "Hit", int(now - cached.stored)
        else:
            cached, state, age = self._fetch(found, behaviour, path, ttls, now), "Miss", None
            if cached.status == 200 and cached.ttl > 0:
                with self._lock:
                    self._cache[key] = cached
        return _viewer_answer(request, cached, state, age, added, found["DomainName"])

    def _configuration(self, distribution_id: str) -> Distribution | None:
        now = self.clock()
        with self._lock:
            read, found = self._configs.get(distribution_id, (-CONFIG_SECONDS, None))
        if now - read >= CONFIG_SECONDS:
            found = self.distribution(distribution_id)
            with self._lock:
                self._configs[distribution_id] = (now, found)
        return found

    def _fetch(self, found: Distribution, behaviour: dict[str, Any], path: str, ttls: tuple[int, int, int],
               now: float) -> Cached:
        """The origin request, made as the distribution."""
        origin = next(o for o in found["DistributionConfig"]["Origins"]["Items"]
                      if o["Id"] == behaviour["TargetOriginId"])
        if not S3_HOST.match(origin["DomainName"]):
            return Cached(502, [("Content-Type", "text/plain")],
                          b"The local CDN serves S3 origins only.", now, 0)
        with as_distribution(found["ARN"]):
            answer = self.origin.get(f"{origin.get('OriginPath', '')}/{path}",
                                     base_url=f"http://{origin['DomainName']}")
        body = answer.get_data()
        headers = [(name, answer.headers[name]) for name in PASSED_ON if name in answer.headers]
        return Cached(answer.status_code, headers, body, now, _ttl(answer.headers.get("Cache-Control", ""), ttls))


def _behaviour(config: dict[str, Any], path: str) -> dict[str, Any]:
    for behaviour in config.get("CacheBehaviors", {}).get("Items", []):
        if _path_pattern(behaviour["PathPattern"]).fullmatch(path):
            return dict(behaviour)
    return dict(config["DefaultCacheBehavior"])


def _path_pattern(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"([*?])", pattern.lstrip("/"))
    return re.compile("".join({"*": ".*", "?": "."}.get(part, re.escape(part)) for part in parts))


def _ttl(cache_control: str, ttls: tuple[int, int, int]) -> float:
    low, default, high = ttls
    directives = {name.strip().lower(): value.strip() for name, _, value in
                  (part.partition("=") for part in cache_control.split(",")) if name.strip()}
    if directives.keys() & {"no-cache", "no-store", "private"}:
        return low
    for name in ("s-maxage", "max-age"):
        if directives.get(name, "").isdigit():
            return min(max(int(directives[name]), low), high)
    return default


def _viewer_answer(request: Request, cached: Cached, state: str, age: int | None, added: dict[str, str],
                   domain: str) -> Response:
    headers = list(cached.headers)
    if cached.status != 200:
        state = "Error"
    else:
        headers += list(added.items())
    headers += [("X-Cache", f"{state} from cloudfront"), ("Via", f"1.1 {domain} (CloudFront)")]
    if age is not None:
        headers.append(("Age", str(age)))
    etag = dict(cached.headers).get("ETag")
    if cached.status == 200 and etag and etag in request.headers.get("If-None-Match", ""):
        kept = [(name, value) for name, value in headers if name not in ("Content-Length", "Content-Type")]
        return Response(status=304, headers=kept)
    response = Response(b"" if request.method == "HEAD" else cached.body, status=cached.status, headers=headers)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(cached.body))
    return response


def _cloudfront_error(status: int, message: str) -> Response:
    """CloudFront's own error page (its shape, not its styling)."""
    title = {403: "403 ERROR", 404: "404 ERROR", 502: "502 ERROR"}[status]
    body = (f"<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\n<H1>{title}</H1>\n"
            f"<H2>The request could not be satisfied.</H2>\n<HR noshade size=\"1px\">\n{message}\n<BR clear=\"all\">\n"
            "<HR noshade size=\"1px\"><PRE>Generated by cloudfront (CloudFront)</PRE></BODY></HTML>\n")
    return Response(body, status=status, mimetype="text/html",
                    headers=[("X-Cache", "Error from cloudfront"), ("Server", "CloudFront")])


def distributions(endpoint_url: str, access_key: str, secret_key: str) -> Callable[[str], Distribution | None]:
    """GetDistribution on the local cloud, as the CDN reads its configuration."""
    cloudfront = client(local_session("us-east-1", access_key, secret_key), "cloudfront", endpoint_url,
                        Config(retries={"max_attempts": 1, "mode": "standard"}))

    def read(distribution_id: str) -> Distribution | None:
        try:
            found: Distribution = cloudfront.get_distribution(Id=distribution_id)["Distribution"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchDistribution":
                return None
            raise
        return found

    return read
