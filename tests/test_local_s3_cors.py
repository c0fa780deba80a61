"""CORS on the local cloud's S3, as S3 does it: a preflight is judged by the bucket's CORS rules (origin,
method, requested headers) and refused with S3's 403 AccessForbidden otherwise; an actual request carries
CORS headers only when a rule allows its origin and method. The uploads bucket's rule is the stage's
(eb_tools/provision/storage.py): POST from the web origin, no request headers of the page's own."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from troposphere import Parameter, Ref, Template

from eb_tools.cloud.s3_cors import NOT_ALLOWED, NOT_ENABLED
from eb_tools.provision import storage
from tests.conftest import aws_client
from tests.test_local_cdn import WEB_ORIGIN, make_stage

ORIGIN = WEB_ORIGIN  # the stage's web origin (a local web app's)


def _bucket(cloud: Any, *rules: dict[str, Any]) -> tuple[Any, str]:
    s3, bucket = aws_client(cloud, "s3"), f"cors-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    if rules:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": list(rules)})
    return s3, bucket


def _upload_rule(*origins: str) -> dict[str, Any]:
    """The stage template's rule for the uploads bucket, in PutBucketCors's shape, for `origins`."""
    template = Template()
    storage.build(template, Ref(template.add_parameter(Parameter("WebOrigins", Type="CommaDelimitedList"))))
    rule, = template.to_dict()["Resources"]["UploadsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    names = {"Id": "ID", "MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders"}
    return {**{names.get(key, key): value for key, value in rule.items()}, "AllowedOrigins": list(origins or [ORIGIN])}


def _preflight(cloud: Any, bucket: str, origin: str = ORIGIN, method: str = "POST",
               headers: str | None = None) -> requests.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method,
             **({"Access-Control-Request-Headers": headers} if headers else {})}
    return requests.options(f"{cloud.url}/{bucket}", headers=asked, timeout=10)


def _refused(response: requests.Response, message: str, method: str = "POST") -> bool:
    return (response.status_code == 403 and "<Code>AccessForbidden</Code>" in response.text
            and f"<Message>{message}</Message>" in response.text.replace("&#x27;", "'").replace("&apos;", "'")
            and f"<Method>{method}</Method>" in response.text
            and not any(name.lower().startswith("access-control-") for name in response.headers))


def _presigned_post(s3: Any, bucket: str, key: str, body: bytes, origin: str = ORIGIN) -> requests.Response:
    post = s3.generate_presigned_post(Bucket=bucket, Key=key, Fields={"Content-Type": "image/png"},
                                      Conditions=[{"Content-Type": "image/png"},
                                                  ["content-length-range", len(body), len(body)]], ExpiresIn=60)
    return requests.post(post["url"], data=post["fields"], files={"file": ("a.png", body, "image/png")},
                         headers={"Origin": origin}, timeout=10)


def test_the_web_origin_passes_the_preflight_and_reads_the_upload_answer(cloud):
    s3, bucket = _bucket(cloud, _upload_rule("https://app.example.com", ORIGIN))
    preflight = _preflight(cloud, bucket)
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    assert preflight.headers["Access-Control-Max-Age"] == "3000"
    assert "Origin" in preflight.headers["Vary"]
    sent = _presigned_post(s3, bucket, "uploads/1/a.png", b"\x89PNG....")
    assert sent.status_code == 204
    assert sent.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert s3.get_object(Bucket=bucket, Key="uploads/1/a.png")["Body"].read() == b"\x89PNG...."


def test_a_refused_form_still_tells_the_page_why(cloud):
    """S3 sets CORS headers on its error answers too: the page can read the 403 of a form S3 refuses."""
    s3, bucket = _bucket(cloud, _upload_rule())
    post = s3.generate_presigned_post(Bucket=bucket, Key="uploads/1/b.png",
                                      Conditions=[["content-length-range", 1, 2]], ExpiresIn=60)
    refused = requests.post(post["url"], data=post["fields"], files={"file": ("b.png", b"too long", "image/png")},
                            headers={"Origin": ORIGIN}, timeout=10)
    assert refused.status_code == 400 and "EntityTooLarge" in refused.text
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_another_origin_is_refused(cloud):
    s3, bucket = _bucket(cloud, _upload_rule())
    assert _refused(_preflight(cloud, bucket, origin="https://evil.example.com"), NOT_ALLOWED)
    assert _refused(_preflight(cloud, bucket, origin=f"{ORIGIN}.evil.example.com"), NOT_ALLOWED)
    # The form itself is S3's to judge (it is valid), but the page of another origin cannot read the answer.
    sent = _presigned_post(s3, bucket, "uploads/1/c.png", b"png", origin="https://evil.example.com")
    assert sent.status_code == 204
    assert not any(name.lower().startswith("access-control-") for name in sent.headers)


def test_another_method_is_refused(cloud):
    _, bucket = _bucket(cloud, _upload_rule())
    for method in ("PUT", "DELETE", "GET"):
        assert _refused(_preflight(cloud, bucket, method=method), NOT_ALLOWED, method)


def test_a_header_the_rule_does_not_allow_is_refused(cloud):
    _, bucket = _bucket(cloud, _upload_rule())
    assert _refused(_preflight(cloud, bucket, headers="x-amz-meta-owner"), NOT_ALLOWED)
    assert _refused(_preflight(cloud, bucket, headers="authorization"), NOT_ALLOWED)


def test_a_bucket_without_cors_refuses_every_preflight(cloud):
    _, bucket = _bucket(cloud)
    assert _refused(_preflight(cloud, bucket), NOT_ENABLED)
    missing = _preflight(cloud, f"missing-{uuid.uuid4().hex[:8]}")
    assert missing.status_code == 403 and "AccessForbidden" in missing.text


def test_a_preflight_without_origin_or_method_is_a_bad_request(cloud):
    _, bucket = _bucket(cloud, _upload_rule())
    no_origin = requests.options(f"{cloud.url}/{bucket}", headers={"Access-Control-Request-Method": "POST"},
                                 timeout=10)
    assert no_origin.status_code == 400 and "Origin request header needed" in no_origin.text
    no_method = requests.options(f"{cloud.url}/{bucket}", headers={"Origin": ORIGIN}, timeout=10)
    assert no_method.status_code == 400 and "<Code>BadRequest</Code>" in no_method.text


@pytest.mark.parametrize(("allowed", "origin", "passes"), [
    ("https://*.example.com", "https://app.example.com", True),
    ("https://*.example.com", "http://app.example.com", False),
    ("*", "https://anything.example.org", True),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8001", False),
])
def test_origins_match_with_one_wildcard(cloud, allowed, origin, passes):
    _, bucket = _bucket(cloud, {"AllowedOrigins": [allowed], "AllowedMethods": ["GET"]})
    answer = _preflight(cloud, bucket, origin=origin, method="GET")
    assert (answer.status_code == 200) is passes
    if passes:
        assert answer.headers["Access-Control-Allow-Origin"] == ("*" if allowed == "*" else origin)


def test_the_first_matching_rule_answers(cloud):
    _, bucket = _bucket(cloud, {"AllowedOrigins": ["https://a.example.com"], "AllowedMethods": ["GET"]},
                        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["x-amz-*"],
                         "ExposeHeaders": ["ETag"]})
    first = _preflight(cloud, bucket, origin="https://a.example.com", method="GET")
    assert first.headers["Access-Control-Allow-Methods"] == "GET"
    second = _preflight(cloud, bucket, origin="https://b.example.com", method="PUT", headers="X-Amz-Meta-A, x-amz-acl")
    assert second.status_code == 200
    assert second.headers["Access-Control-Allow-Headers"] == "x-amz-meta-a, x-amz-acl"
    assert second.headers["Access-Control-Expose-Headers"] == "ETag"


def test_the_stage_uploads_bucket_admits_its_web_origin_only(cloud):
    """The rule as the stage template sets it and the local CloudFormation applies it."""
    stage = make_stage(cloud)
    assert _preflight(cloud, stage["Uploads"], origin=WEB_ORIGIN).status_code == 200
    assert _refused(_preflight(cloud, stage["Uploads"], origin="https://evil.example.com"), NOT_ALLOWED)
    assert _refused(_preflight(cloud, stage["Uploads"], origin=WEB_ORIGIN, method="PUT"), NOT_ALLOWED, "PUT")
