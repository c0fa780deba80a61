"""image.variants: resized JPEG and WebP variants, a backup of the original, the upload ready."""
from __future__ import annotations

from botocore.exceptions import ClientError

from core import storage
from core.aws import client
from core.models import Upload, utcnow
from worker.imaging import ImageRejected, make_variants
from worker.registry import Reject, RowId, TaskContext, tasks

CACHE_FOREVER = "public, max-age=31536000, immutable"  # variant keys never change content


@tasks("image.variants")
def image_variants(ctx: TaskContext, upload_id: RowId) -> dict[str, object]:
    settings = ctx.settings
    with ctx.database.read() as session:
        upload = session.get(Upload, upload_id)
    if upload is None:
        raise Reject(f"upload {upload_id} does not exist")
    s3 = client(settings, "s3")
    try:
        original = s3.get_object(Bucket=settings.uploads_bucket, Key=upload.s3_key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            _mark(ctx, upload_id, Upload.FAILED, "the original is not in the bucket")
            raise Reject(f"upload {upload_id}: the original {upload.s3_key} is not in the bucket") from None
        raise
    if original["ContentLength"] > settings.upload_max_bytes:
        _mark(ctx, upload_id, Upload.FAILED, "larger than the upload limit")
        raise Reject(f"upload {upload_id} is {original['ContentLength']} bytes, over the limit")
    try:
        variants = make_variants(original["Body"].read(), settings.image_max_pixels)
    except ImageRejected as exc:
        _mark(ctx, upload_id, Upload.FAILED, str(exc))
        raise Reject(f"upload {upload_id}: {exc}") from None
    keys = []
    for variant in variants:
        key = storage.variant_key(upload.s3_key, variant.width, variant.extension)
        s3.put_object(Bucket=settings.uploads_bucket, Key=key, Body=variant.data,
                      ContentType=variant.content_type, CacheControl=CACHE_FOREVER)
        keys.append(key)
    s3.copy_object(Bucket=settings.backup_bucket, Key=upload.s3_key,
                   CopySource={"Bucket": settings.uploads_bucket, "Key": upload.s3_key})
    _mark(ctx, upload_id, Upload.READY, None)
    return {"variants": keys, "backup": f"s3://{settings.backup_bucket}/{upload.s3_key}"}


def _mark(ctx: TaskContext, upload_id: int, state: str, reason: str | None) -> None:
    with ctx.database.write() as session:
        upload = session.get(Upload, upload_id)
        if upload is not None:
            upload.state = state
            upload.failure_reason = reason[:500] if reason else None
            upload.completed_at = upload.completed_at or utcnow()
