"""Uploads bucket: presigned browser POSTs, existence checks, CDN URLs.

The browser sends image bytes straight to S3; the POST policy, not the web app,
enforces the key, the content type and the exact declared size, so the web tier
never carries uploads. A presigned form stays valid until it expires, so the
browser can write its key again: pages therefore never serve that key. They
serve what the worker wrote under SERVED_PREFIX (variants and a copy of the
original) from the S3 version it checked; CloudFront may read only that prefix
(eb_tools/provision/storage.py).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from core.aws import client
from core.settings import Settings

# The image types we accept and the extension the stored key gets (never the user's).
IMAGE_TYPES: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


INCOMING_PREFIX = "uploads/"  # what browsers write, one presigned key each
SERVED_PREFIX = "variants/"  # what pages show: written by the worker only


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str
    version_id: str | None  # None in a bucket without versioning


def user_prefix(user_id: int) -> str:
    return f"{INCOMING_PREFIX}{user_id}/"


def new_key(user_id: int, content_type: str) -> str:
    """A random key under the user's prefix; the user's filename never reaches S3."""
    return f"{user_prefix(user_id)}{secrets.token_hex(16)}{IMAGE_TYPES[content_type]}"


def _served_stem(original_key: str) -> str:
    stem = original_key.removeprefix(INCOMING_PREFIX).rsplit(".", 1)[0]
    return f"{SERVED_PREFIX}{stem}"


def variant_key(original_key: str, width: int, extension: str) -> str:
    """variants/<user>/<name>/w<width>.<ext> for uploads/<user>/<name>.<ext>."""
    return f"{_served_stem(original_key)}/w{width}.{extension}"


def served_original_key(original_key: str) -> str:
    """variants/<user>/<name>/original.<ext>: the worker's copy of the original it checked."""
    return f"{_served_stem(original_key)}/original.{original_key.rsplit('.', 1)[-1]}"


def presigned_post(settings: Settings, key: str, content_type: str, size: int) -> dict[str, Any]:
    """URL and form fields for one browser POST of exactly this key, content type and size."""
    return client(settings, "s3").generate_presigned_post(
        Bucket=settings.uploads_bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", size, size],
        ],
        ExpiresIn=settings.upload_url_expires,
    )


def head(settings: Settings, key: str) -> StoredObject | None:
    """Size, type and version of the object, or None when it is not (yet) in the bucket."""
    try:
        response = client(settings, "s3").head_object(Bucket=settings.uploads_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return StoredObject(int(response["ContentLength"]), response.get("ContentType", ""), response.get("VersionId"))


def public_url(settings: Settings, key: str) -> str:
    """Where browsers fetch the object: the CDN (CDN_URL: the stage's CloudFront distribution, or its stand-in
    under `eb_tools local`). An app with no CDN (one built for a test) gets the object's own S3 URL, which
    serves browsers only what the bucket policy grants everyone: for a stage's bucket, nothing."""
    if settings.cdn_url:
        return f"{settings.cdn_url}/{key}"
    if settings.aws_endpoint_url:
        return f"{settings.aws_endpoint_url.rstrip('/')}/{settings.uploads_bucket}/{key}"
    return f"https://{settings.uploads_bucket}.s3.{settings.aws_region}.amazonaws.com/{key}"
