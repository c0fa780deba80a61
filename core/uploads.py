"""What happens when an upload is complete, shared by the web app and the worker's reconciler."""
from __future__ import annotations

from core.queue import Envelope


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
