"""Headers on every answer: a Content-Security-Policy, and no-store while a user is logged in.

The pages run only their own script and stylesheet (no inline code: the hostile tests
check every template), show images from the CDN (CDN_URL: CloudFront, or its stand-in under `eb_tools local`),
and the upload script POSTs to the uploads bucket; the policy admits those origins, derived
from the settings, and nothing else. nginx adds the headers that need no settings (.platform/nginx/conf.d/10_app.conf).
"""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from flask import Flask, Response, request, session

from core import storage
from core.aws import client
from core.settings import Settings


def register(app: Flask, settings: Settings) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy(settings)
        if request.endpoint != "static" and session.get("user_id") is not None:
            response.headers["Cache-Control"] = "no-store"  # an account's pages stay out of every cache
        return response


@functools.cache
def policy(settings: Settings) -> str:
    images, uploads = _origins(settings)
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' {images}",
        f"connect-src 'self' {uploads}",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


def _origins(settings: Settings) -> tuple[str, str]:
    """Where images come from, and where browsers POST uploads: the URL boto3 puts in a presigned POST
    for this bucket, built by a client configured as the app's own but unsigned, so that no credentials
    are looked up (on an instance that would be a metadata call in the middle of a request)."""
    s3 = client(settings, "s3")
    unsigned = boto3.session.Session().client(
        "s3", region_name=s3.meta.region_name, endpoint_url=settings.aws_endpoint_url,
        config=s3.meta.config.merge(Config(signature_version=UNSIGNED)),
    )
    post = unsigned.generate_presigned_post(Bucket=settings.uploads_bucket, Key="uploads/origin")
    return _origin(storage.public_url(settings, "origin")), _origin(post["url"])


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
