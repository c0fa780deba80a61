"""Uploads bucket: presigned browser POSTs, existence checks, CDN URLs.

The browser sends image bytes straight to S3; the POST policy, not the web app,
enforces the content type and the size, so the web tier never carries uploads.
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


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str


def user_prefix(user_id: int) -> str:
    return f"uploads/{user_id}/"


def new_key(user_id: int, content_type: str) -> str:
    """A random key under the user's prefix; the user's filename never reaches S3."""
    return f"{user_prefix(user_id)}{secrets.token_hex(16)}{IMAGE_TYPES[content_type]}"


def variant_key(original_key: str, width: int, extension: str) -> str:
    """variants/<user>/<name>/w<width>.<ext> for uploads/<user>/<name>.<ext>."""
    stem = original_key.removeprefix("uploads/").rsplit(".", 1)[0]
    return f"variants/{stem}/w{width}.{extension}"


def presigned_post(settings: Settings, key: str, content_type: str) -> dict[str, Any]:
    """URL and form fields for one browser POST of exactly this key and content type."""
    return client(settings, "s3").generate_presigned_post(
        Bucket=settings.uploads_bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, settings.upload_max_bytes],
        ],
        ExpiresIn=settings.upload_url_expires,
    )


def head(settings: Settings, key: str) -> StoredObject | None:
    """Size and type of the object, or None when it is not (yet) in the bucket."""
    try:
        response = client(settings, "s3").head_object(Bucket=settings.uploads_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return StoredObject(int(response["ContentLength"]), response.get("ContentType", ""))


def public_url(settings: Settings, key: str) -> str:
    """Where browsers fetch the object: CloudFront in AWS, the local S3 endpoint otherwise."""
    if settings.cdn_domain:
        return f"https://{settings.cdn_domain}/{key}"
    if settings.aws_endpoint_url:
        return f"{settings.aws_endpoint_url.rstrip('/')}/{settings.uploads_bucket}/{key}"
    return f"https://{settings.uploads_bucket}.s3.{settings.aws_region}.amazonaws.com/{key}"
