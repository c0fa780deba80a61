"""What happens when an upload is complete, shared by the web app and the worker's reconciler, and
what of an upload pages may show."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, select

from core import storage
from core.models import Upload, utcnow
from core.queue import Envelope
from core.settings import Settings

# The variant types pages offer, best first: a <picture> gives WebP to browsers that take it, JPEG otherwise.
VARIANT_TYPES = (("webp", "image/webp"), ("jpg", "image/jpeg"))
DEFAULT_WIDTH = 800  # the `src` of browsers that ignore srcset: the largest variant up to this width
SIZES = "(max-width: 24rem) 100vw, 16rem"  # a column of the grid (web/static/app.css .grid: 10rem to ~16rem)


class ShownUpload(Protocol):
    """What pages show of an upload: an Upload, or a row of the reads below."""

    @property
    def id(self) -> int: ...
    @property
    def s3_key(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def size(self) -> int | None: ...
    @property
    def state(self) -> str: ...
    @property
    def failure_reason(self) -> str | None: ...
    @property
    def variant_widths(self) -> str | None: ...


# The pages' reads, built once and run through Core on the reader: the ORM's select(Upload), built per request,
# was 0.45 ms of the logged-in page's CPU, these 0.19 (benchmarks/web_path.py), and they fetch 7 columns, not 12.
_uploads = Upload.__table__.c
_SHOWN = (_uploads.id, _uploads.s3_key, _uploads.filename, _uploads.size, _uploads.state, _uploads.failure_reason,
          _uploads.variant_widths)
# A user's uploads for the page, newest first (ix_uploads_user_created): the pending ones are not shown.
USERS_UPLOADS: Select[Any] = (
    select(*_SHOWN).where(_uploads.user_id == bindparam("user_id"), _uploads.state != Upload.PENDING)
    .order_by(_uploads.created_at.desc(), _uploads.id.desc()).limit(100)
)
# One upload, if it is the user's: what the page polls.
USERS_UPLOAD: Select[Any] = select(*_SHOWN).where(_uploads.id == bindparam("upload_id"),
                                                  _uploads.user_id == bindparam("user_id"))


def completion_tasks(upload_id: int, email: str) -> tuple[Envelope, Envelope]:
    """The tasks of a completed upload, keyed by the upload so a repeat queues nothing new."""
    return (
        Envelope("image.variants", {"upload_id": upload_id}, idempotency_key=f"upload:{upload_id}:variants"),
        Envelope(
            "email.send",
            {"to": email, "template": "upload_received", "upload_id": upload_id},
            idempotency_key=f"upload:{upload_id}:email",
        ),
    )


def record_completion(upload: Upload, stored: storage.StoredObject) -> None:
    """The upload is in the bucket: keep the version found now, the one the worker will read."""
    upload.state = Upload.UPLOADED
    upload.size = stored.size
    upload.s3_version_id = stored.version_id
    upload.completed_at = utcnow()


def served_url(settings: Settings, upload: ShownUpload) -> str | None:
    """The image pages show: the worker's checked copy, once it exists; never the browser-written key."""
    if upload.state != Upload.READY:
        return None
    return storage.public_url(settings, storage.served_original_key(upload.s3_key))


def format_widths(widths: Sequence[int]) -> str:
    """Upload.variant_widths as the worker records it: distinct widths, largest first."""
    return ",".join(str(w) for w in sorted(set(widths), reverse=True))


def variant_widths(upload: ShownUpload) -> list[int]:
    """The widths the worker made, largest first; none before it made them (or for rows it made before
    migration 0003 recorded them: those show the served original alone)."""
    if upload.state != Upload.READY or not upload.variant_widths:
        return []
    return [int(w) for w in upload.variant_widths.split(",")]


def describe(settings: Settings, upload: ShownUpload) -> dict[str, Any]:
    """An upload as pages and GET /uploads/<id> show it: state, the failure reason, and once ready its
    variants' CDN URLs with a srcset per type (web/static/uploads.js and uploads.html render the same)."""
    widths = variant_widths(upload)
    variants = [
        {"url": storage.public_url(settings, storage.variant_key(upload.s3_key, width, extension)),
         "width": width, "type": content_type}
        for extension, content_type in VARIANT_TYPES for width in widths
    ]
    srcset = {
        content_type: ", ".join(f"{v['url']} {v['width']}w" for v in variants if v["type"] == content_type)
        for _, content_type in VARIANT_TYPES if widths
    }
    original = served_url(settings, upload)
    src = original
    if widths:
        default = next((w for w in widths if w <= DEFAULT_WIDTH), widths[-1])
        src = storage.public_url(settings, storage.variant_key(upload.s3_key, default, "jpg"))
    return {
        "id": upload.id,
        "state": upload.state,
        "reason": upload.failure_reason if upload.state == Upload.FAILED else None,
        "filename": upload.filename,
        "size": upload.size,
        "variants": variants,
        "src": src,
        "srcset": srcset,
        "sizes": SIZES,
        "url": original,
    }
