"""What happens when an upload is complete, shared by the web app and the worker's reconciler, and
what of an upload pages may show."""
from __future__ import annotations

from core import storage
from core.models import Upload, utcnow
from core.queue import Envelope
from core.settings import Settings


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


def served_url(settings: Settings, upload: Upload) -> str | None:
    """The image pages show: the worker's checked copy, once it exists; never the browser-written key."""
    if upload.state != Upload.READY:
        return None
    return storage.public_url(settings, storage.served_original_key(upload.s3_key))
