"""The local cloud's CloudFront stand-in, in front of the stage's own buckets, distribution and bucket
policies (eb_tools/provision/storage.py, created by the local CloudFormation): it serves variants/ with
cache headers and a cache of its own, passes on S3's refusal of uploads/ keys, allows GET and HEAD only, and
reads the bucket as the distribution, which the S3 endpoint refuses to anonymous browsers."""
from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from troposphere import GetAtt, Output, Parameter, Ref, Template

from eb_tools.cloud.cdn import METHOD_NOT_ALLOWED
from eb_tools.provision import storage
from tests.conftest import aws_client

WEB_ORIGIN = "http://127.0.0.1:8000"

SHORT_MAX_AGE = 4  # seconds a CDN copy of short.jpg stays fresh


@pytest.fixture(scope="module")
def stage(cloud) -> dict[str, str]:
    return make_stage(cloud)


def make_stage(cloud: Any) -> dict[str, str]:
    """The stage template's buckets, CDN and policies, as CloudFormation makes them in the local cloud."""
    template = Template()
    origins = template.add_parameter(Parameter("WebOrigins", Type="CommaDelimitedList"))
    buckets = storage.build(template, Ref(origins))
    template.add_output(Output("Uploads", Value=Ref(buckets.uploads)))
    template.add_output(Output("Distribution", Value=Ref(buckets.distribution)))
    template.add_output(Output("CdnDomain", Value=GetAtt(buckets.distribution, "DomainName")))
    cfn, name = aws_client(cloud, "cloudformation"), f"cdn-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(StackName=name, TemplateBody=template.to_json(),
                     Parameters=[{"ParameterKey": "WebOrigins", "ParameterValue": WEB_ORIGIN}])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    s3 = aws_client(cloud, "s3")
    s3.put_object(Bucket=outputs["Uploads"], Key="variants/1/a/w200.jpg", Body=b"variant",
                  ContentType="image/jpeg", CacheControl="public, max-age=31536000, immutable")
    s3.put_object(Bucket=outputs["Uploads"], Key="variants/1/a/short.jpg", Body=b"v1", ContentType="image/jpeg",
                  CacheControl=f"max-age={SHORT_MAX_AGE}")
    s3.put_object(Bucket=outputs["Uploads"], Key="uploads/1/a.jpg", Body=b"incoming", ContentType="image/jpeg")
    return {**outputs, "base": cloud.distribution_url(outputs["Distribution"])}


def _get(url: str, method: str = "GET", **kwargs: Any) -> requests.Response:
    return requests.request(method, url, timeout=10, **kwargs)


def test_the_stand_in_serves_variants_with_cache_headers(stage):
    first = _get(f"{stage['base']}/variants/1/a/w200.jpg")
    assert first.status_code == 200 and first.content == b"variant"
    assert first.headers["Content-Type"] == "image/jpeg"
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert first.headers["X-Cache"] == "Miss from cloudfront"
    assert first.headers["X-Content-Type-Options"] == "nosniff"  # the managed SecurityHeadersPolicy
    second = _get(f"{stage['base']}/variants/1/a/w200.jpg")
    assert second.status_code == 200 and second.content == b"variant"
    assert second.headers["X-Cache"] == "Hit from cloudfront" and int(second.headers["Age"]) >= 0
    head = _get(f"{stage['base']}/variants/1/a/w200.jpg", "HEAD")
    assert head.status_code == 200 and head.headers["X-Cache"] == "Hit from cloudfront"
    assert head.headers["Content-Length"] == str(len(b"variant"))
    revalidated = _get(f"{stage['base']}/variants/1/a/w200.jpg", headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304


def test_a_cached_object_is_read_again_once_its_max_age_is_over(cloud, stage):
    """(A max-age of a few seconds: on a loaded machine one second passed between two requests, and the cached
    copy had expired before the test looked at it.)"""
    started = time.monotonic()
    assert _get(f"{stage['base']}/variants/1/a/short.jpg").content == b"v1"
    aws_client(cloud, "s3").put_object(Bucket=stage["Uploads"], Key="variants/1/a/short.jpg", Body=b"v2",
                                       ContentType="image/jpeg", CacheControl=f"max-age={SHORT_MAX_AGE}")
    cached = _get(f"{stage['base']}/variants/1/a/short.jpg")
    assert time.monotonic() - started < SHORT_MAX_AGE, "the machine is too slow for this test's max-age"
    assert cached.content == b"v1" and cached.headers["X-Cache"] == "Hit from cloudfront"
    time.sleep(max(0.0, started + SHORT_MAX_AGE + 0.1 - time.monotonic()))
    fresh = _get(f"{stage['base']}/variants/1/a/short.jpg")
    assert fresh.content == b"v2" and fresh.headers["X-Cache"] == "Miss from cloudfront"


def test_uploads_keys_are_refused_as_s3_refuses_the_distribution(cloud, stage):
    refused = _get(f"{stage['base']}/uploads/1/a.jpg")
    assert refused.status_code == 403 and "<Code>AccessDenied</Code>" in refused.text
    assert refused.headers["X-Cache"] == "Error from cloudfront"
    missing = _get(f"{stage['base']}/variants/1/missing.jpg")  # no s3:ListBucket: S3 says 403, not 404
    assert missing.status_code == 403 and "<Code>AccessDenied</Code>" in missing.text


def test_the_s3_endpoint_refuses_anonymous_browsers_what_the_cdn_serves(cloud, stage):
    direct = _get(f"{cloud.url}/{stage['Uploads']}/variants/1/a/w200.jpg")
    assert direct.status_code == 403 and "<Code>AccessDenied</Code>" in direct.text


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "OPTIONS"])
def test_only_get_and_head_are_allowed(stage, method):
    refused = _get(f"{stage['base']}/variants/1/a/w200.jpg", method, data=b"swapped")
    assert refused.status_code == 403 and METHOD_NOT_ALLOWED in refused.text
    assert refused.headers["X-Cache"] == "Error from cloudfront"
    assert _get(f"{stage['base']}/variants/1/a/w200.jpg").content == b"variant"


def test_an_unknown_distribution_is_not_found(cloud):
    assert _get(f"{cloud.distribution_url('E0000000000000')}/variants/1/a/w200.jpg").status_code == 404
    assert _get(f"{cloud.cdn_url}/").status_code == 404
