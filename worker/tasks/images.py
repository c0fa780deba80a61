"""image.variants: resized JPEG and WebP variants, a copy of the original to serve and one to back up,
all from the S3 version completion recorded, then the upload ready with the widths it made.

The browser's presigned form may write the upload's key again until it expires;
reading the recorded version and serving only what this task writes (under
storage.SERVED_PREFIX) keeps a replacement from ever being processed or shown.
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from core import storage
from core.aws import client
from core.models import Upload, utcnow
from core.uploads import format_widths
from worker.imaging import ImageRejected, make_variants
from worker.registry import Reject, RowId, TaskContext, tasks

CACHE_FOREVER = "public, max-age=31536000, immutable"  # served keys never change content
GONE = ("NoSuchKey", "NoSuchVersion", "404")


@tasks("image.variants")
def image_variants(ctx: TaskContext, upload_id: RowId) -> dict[str, object]:
    settings = ctx.settings
    with ctx.database.read() as session:
        upload = session.get(Upload, upload_id)
    if upload is None:
        raise Reject(f"upload {upload_id} does not exist")
    s3 = client(settings, "s3")
    source: dict[str, Any] = {"Bucket": settings.uploads_bucket, "Key": upload.s3_key}
    if upload.s3_version_id:
        source["VersionId"] = upload.s3_version_id
    try:
        original = s3.get_object(**source)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in GONE:
            _mark(ctx, upload_id, Upload.FAILED, "the original is not in the bucket")
            raise Reject(f"upload {upload_id}: the original {upload.s3_key} (version {upload.s3_version_id}) "
                         "is not in the bucket") from None
        raise
    if original["ContentLength"] > settings.upload_max_bytes:
        _mark(ctx, upload_id, Upload.FAILED, "larger than the upload limit")
        raise Reject(f"upload {upload_id} is {original['ContentLength']} bytes, over the limit")
    data = original["Body"].read()
    try:
        variants = make_variants(data, settings.image_max_pixels)
    except ImageRejected as exc:
        _mark(ctx, upload_id, Upload.FAILED, str(exc))
        raise Reject(f"upload {upload_id}: {exc}") from None
    keys = []
    for variant in variants:
        key = storage.variant_key(upload.s3_key, variant.width, variant.extension)
        s3.put_object(Bucket=settings.uploads_bucket, Key=key, Body=variant.data,
                      ContentType=variant.content_type, CacheControl=CACHE_FOREVER)
        keys.append(key)
    served = storage.served_original_key(upload.s3_key)
    s3.put_object(Bucket=settings.uploads_bucket, Key=served, Body=data, ContentType=upload.content_type,
                  CacheControl=CACHE_FOREVER)
    s3.copy_object(Bucket=settings.backup_bucket, Key=upload.s3_key, CopySource=source)
    _mark(ctx, upload_id, Upload.READY, None, widths=format_widths([v.width for v in variants]))
    return {"variants": keys, "original": served, "backup": f"s3://{settings.backup_bucket}/{upload.s3_key}"}


def _mark(ctx: TaskContext, upload_id: int, state: str, reason: str | None, widths: str | None = None) -> None:
    """The upload's new state; when ready, the widths made (they depend on the image: never upscaled),
    which pages need for srcset."""
    with ctx.database.write() as session:
        upload = session.get(Upload, upload_id)
        if upload is not None:
            upload.state = state
            upload.failure_reason = reason[:500] if reason else None
            upload.variant_widths = widths
            upload.completed_at = upload.completed_at or utcnow()
