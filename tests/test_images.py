"""image.variants end to end against the emulated S3: sizes, formats, backup, refusals."""
from __future__ import annotations

import io
import struct
import uuid
import zlib

import pytest
from PIL import Image

from core import storage
from core.models import Upload, User
from core.queue import Envelope
from tests.conftest import aws_client
from tests.sqsd_client import body, deliver
from worker.imaging import ImageRejected, make_variants


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height))
    image.paste((220, 30, 30), (0, 0, width // 2, height))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height 1-bit pixels: what a decompression bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture
def worker(make_app):
    return make_app(APP_ROLE="worker")


def stored_upload(worker, aws, cloud, data: bytes, content_type="image/jpeg") -> Upload:
    """An upload completed with `data` in the bucket, and the version completion found recorded."""
    with worker.extensions["database"].write() as session:
        user = User(email=f"{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        session.add(user)
        session.flush()
        upload = Upload(user_id=user.id, s3_key=storage.new_key(user.id, content_type), filename="photo",
                        content_type=content_type, state="uploaded", size=len(data))
        session.add(upload)
    stored = aws_client(cloud, "s3").put_object(Bucket=aws["UPLOADS_BUCKET"], Key=upload.s3_key, Body=data,
                                                ContentType=content_type)
    with worker.extensions["database"].write() as session:
        session.get(Upload, upload.id).s3_version_id = stored.get("VersionId")
    return upload


def upload_state(worker, upload_id: int) -> Upload:
    with worker.extensions["database"].read() as session:
        return session.get(Upload, upload_id)


def test_variants_backup_and_ready(worker, aws, cloud):
    original = jpeg(2400, 1800)
    upload = stored_upload(worker, aws, cloud, original)
    response = deliver(worker.test_client(), Envelope("image.variants", {"upload_id": upload.id}))
    assert response.status_code == 200 and body(response)["status"] == "done"
    s3 = aws_client(cloud, "s3")
    for width, height in ((1600, 1200), (800, 600), (200, 150)):
        for ext, fmt, content_type in (("jpg", "JPEG", "image/jpeg"), ("webp", "WEBP", "image/webp")):
            obj = s3.get_object(Bucket=aws["UPLOADS_BUCKET"], Key=storage.variant_key(upload.s3_key, width, ext))
            assert obj["ContentType"] == content_type and "immutable" in obj["CacheControl"]
            image = Image.open(io.BytesIO(obj["Body"].read()))
            assert (image.format, image.size) == (fmt, (width, height))
            rgb = image.convert("RGB")
            left, right = rgb.getpixel((width // 4, height // 2)), rgb.getpixel((3 * width // 4, height // 2))
            assert left[0] > 150 and right[0] < 60  # the picture survived, not just its size
    backup = s3.get_object(Bucket=aws["BACKUP_BUCKET"], Key=upload.s3_key)["Body"].read()
    assert backup == original
    served = s3.get_object(Bucket=aws["UPLOADS_BUCKET"], Key=storage.served_original_key(upload.s3_key))
    assert served["Body"].read() == original and served["ContentType"] == "image/jpeg"
    assert (upload_state(worker, upload.id).state, upload_state(worker, upload.id).variant_widths) == (
        "ready", "1600,800,200")


def test_the_worker_reads_the_version_completion_recorded(worker, aws, cloud):
    """The browser's form may write the key again after completion: the worker makes, serves and backs up
    the version completion found, not the newest."""
    s3 = aws_client(cloud, "s3")
    s3.put_bucket_versioning(Bucket=aws["UPLOADS_BUCKET"], VersioningConfiguration={"Status": "Enabled"})
    checked, replacement = jpeg(400, 300), b"<svg onload=alert(1)>" + b"\0" * 100
    upload = stored_upload(worker, aws, cloud, checked)
    s3.put_object(Bucket=aws["UPLOADS_BUCKET"], Key=upload.s3_key, Body=replacement, ContentType="image/jpeg")
    response = deliver(worker.test_client(), Envelope("image.variants", {"upload_id": upload.id}))
    assert response.status_code == 200 and body(response)["status"] == "done", body(response)
    served = s3.get_object(Bucket=aws["UPLOADS_BUCKET"], Key=storage.served_original_key(upload.s3_key))
    assert served["Body"].read() == checked
    assert s3.get_object(Bucket=aws["BACKUP_BUCKET"], Key=upload.s3_key)["Body"].read() == checked
    # The widths made are recorded for pages' srcset: never upscaled, so the image decides them.
    assert (upload_state(worker, upload.id).state, upload_state(worker, upload.id).variant_widths) == (
        "ready", "400,200")


def test_a_recorded_version_that_is_gone_fails_the_upload(worker, aws, cloud):
    s3 = aws_client(cloud, "s3")
    s3.put_bucket_versioning(Bucket=aws["UPLOADS_BUCKET"], VersioningConfiguration={"Status": "Enabled"})
    upload = stored_upload(worker, aws, cloud, jpeg(40, 30))
    s3.delete_object(Bucket=aws["UPLOADS_BUCKET"], Key=upload.s3_key, VersionId=upload_state(worker, upload.id)
                     .s3_version_id)
    response = deliver(worker.test_client(), Envelope("image.variants", {"upload_id": upload.id}))
    assert response.status_code == 200 and body(response)["status"] == "rejected"
    assert "is not in the bucket" in body(response)["reason"]
    assert upload_state(worker, upload.id).state == "failed"


def test_small_and_rotated_images_are_not_upscaled_and_are_upright():
    small = make_variants(jpeg(300, 120), 40_000_000)
    assert sorted({(v.width, v.height) for v in small}) == [(200, 80), (300, 120)]
    rotated = make_variants(jpeg(2000, 1000, orientation=6), 40_000_000)  # shot in portrait
    assert {(v.width, v.height) for v in rotated} == {(1000, 2000), (800, 1600), (200, 400)}


def test_png_with_alpha_keeps_it_in_webp_and_is_flattened_in_jpeg():
    image = Image.new("RGBA", (400, 400), (0, 0, 255, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    variants = {(v.width, v.extension): v for v in make_variants(out.getvalue(), 40_000_000)}
    assert Image.open(io.BytesIO(variants[(400, "webp")].data)).mode == "RGBA"
    assert Image.open(io.BytesIO(variants[(400, "jpg")].data)).convert("RGB").getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png_header_only(10_000, 10_000), "decompression bomb"),  # 100 Mpx: over our limit
        (png_header_only(60_000, 60_000), "decompression bomb"),  # 3.6 Gpx: Pillow's own refusal
        (b"<html><script>alert(1)</script></html>", "not an image"),
        (jpeg(400, 300)[:-400], "damaged"),
    ],
    ids=["100-megapixel-bomb", "3.6-gigapixel-bomb", "html", "truncated-jpeg"],
)
def test_bombs_and_non_images_are_refused_with_a_reason(worker, aws, cloud, data, reason):
    upload = stored_upload(worker, aws, cloud, data, content_type="image/png")
    response = deliver(worker.test_client(), Envelope("image.variants", {"upload_id": upload.id}))
    assert response.status_code == 200 and body(response)["status"] == "rejected"
    assert reason in body(response)["reason"]
    state = upload_state(worker, upload.id)
    assert state.state == "failed" and reason in state.failure_reason
    listed = aws_client(cloud, "s3").list_objects_v2(Bucket=aws["UPLOADS_BUCKET"], Prefix="variants/")
    assert listed.get("KeyCount", 0) == 0


def test_unknown_upload_is_rejected(worker):
    response = deliver(worker.test_client(), Envelope("image.variants", {"upload_id": 999999}))
    assert body(response) == {"status": "rejected", "reason": "upload 999999 does not exist"}


def test_bomb_check_happens_before_decoding():
    with pytest.raises(ImageRejected, match="100000000 pixels"):
        make_variants(png_header_only(10_000, 10_000), 40_000_000)
