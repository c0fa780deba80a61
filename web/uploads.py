"""Direct-to-S3 image uploads: presign, the browser POSTs to S3, then complete.

POST /uploads answers a presigned POST whose policy fixes the key, the image
content type and the declared size; POST /uploads/<id>/complete checks the object
really is in the bucket, records it with the S3 version found (the one the worker
will read) and queues the worker's tasks. A second completion queues nothing and
answers 409 with the current state (the queued tasks carry idempotency keys derived
from the upload id as well). GET /uploads/<id> is what the page polls; DELETE
/uploads/<id> drops a pending upload whose file S3 refused. Pages show an image once
the worker has made it ready, from the keys only the worker writes (core/uploads.py).
"""
from __future__ import annotations

import logging
import unicodedata
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from sqlalchemy import select

from core import storage
from core.models import Upload, User
from core.queue import QueueNotConfigured, enqueue
from core.settings import Settings
from core.uploads import USERS_UPLOAD, USERS_UPLOADS, completion_tasks, describe, record_completion
from web import context
from web.auth import login_required

bp = Blueprint("uploads", __name__)
log = logging.getLogger(__name__)

MAX_FILENAME = 255


@bp.get("/uploads")
@login_required
def page() -> str:
    settings = context.settings()
    with context.database().reader.connect() as db:
        rows = db.execute(USERS_UPLOADS, {"user_id": g.user_id}).all()
    return render_template(
        "uploads.html",
        images=[describe(settings, row) for row in rows],
        max_bytes=settings.upload_max_bytes,
        accept=",".join(storage.IMAGE_TYPES),
    )


@bp.get("/uploads/<int:upload_id>")
@login_required
def show(upload_id: int) -> Response:
    """The upload's state and, once ready, its variants: what the page polls while the worker runs."""
    with context.database().reader.connect() as db:
        upload = db.execute(USERS_UPLOAD, {"upload_id": upload_id, "user_id": g.user_id}).one_or_none()
    if upload is None:
        abort(404, f"No upload {upload_id} of yours.")
    return jsonify(describe(context.settings(), upload))


@bp.delete("/uploads/<int:upload_id>")
@login_required
def cancel(upload_id: int) -> tuple[str, int]:
    """Forget a pending upload whose file never arrived (S3 refused it, or the user gave up), so that
    nothing of it is left; one in the bucket, or completed, is not cancelled."""
    settings = context.settings()
    with context.database().write() as db:
        upload = db.scalar(
            select(Upload).where(Upload.id == upload_id, Upload.user_id == g.user_id).with_for_update()
        )
        if upload is None:
            abort(404, f"No upload {upload_id} of yours.")
        if upload.state != Upload.PENDING:
            abort(409, f"Upload {upload_id} is already {upload.state}: only a pending upload can be cancelled.")
        try:
            stored = storage.head(settings, upload.s3_key)
        except (BotoCoreError, ClientError):
            log.exception("could not check the object of upload %s", upload.id)
            abort(503, "The storage could not be reached to check the upload; try again shortly.")
        if stored is not None:
            abort(409, f"The file of upload {upload_id} is in the bucket: complete the upload instead.")
        db.delete(upload)
    log.info("pending upload %s cancelled", upload_id)
    return "", 204


@bp.post("/uploads")
@login_required
def create() -> tuple[Response, int]:
    settings = context.settings()
    body = _json_object()
    content_type = body.get("content_type")
    if not isinstance(content_type, str) or content_type not in storage.IMAGE_TYPES:
        abort(400, f"content_type must be one of {', '.join(storage.IMAGE_TYPES)}.")
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        abort(400, "size must be the file's size in bytes, a positive whole number.")
    if size > settings.upload_max_bytes:
        abort(413, f"The file is {size} bytes; the limit is {settings.upload_max_bytes} bytes.")
    filename = _display_name(body.get("filename"))
    upload = Upload(
        user_id=g.user_id,
        s3_key=storage.new_key(g.user_id, content_type),
        filename=filename,
        content_type=content_type,
        state=Upload.PENDING,
    )
    with context.database().write() as db:
        db.add(upload)
    post = storage.presigned_post(settings, upload.s3_key, content_type, size)
    return jsonify(
        id=upload.id,
        key=upload.s3_key,
        post=post,
        max_bytes=settings.upload_max_bytes,
        expires_in=settings.upload_url_expires,
        complete_url=f"/uploads/{upload.id}/complete",
    ), 201


@bp.post("/uploads/<int:upload_id>/complete")
@login_required
def complete(upload_id: int) -> Response:
    settings = context.settings()
    with context.database().write() as db:
        upload = db.scalar(
            select(Upload).where(Upload.id == upload_id, Upload.user_id == g.user_id).with_for_update()
        )
        if upload is None:  # unknown and someone else's look the same: no leak
            abort(404, f"No upload {upload_id} of yours.")
        if upload.state != Upload.PENDING:
            return _already_completed(upload, settings)
        try:
            stored = storage.head(settings, upload.s3_key)
        except (BotoCoreError, ClientError):
            log.exception("could not check the object of upload %s", upload.id)
            abort(503, "The storage could not be reached to check the upload; try again shortly.")
        if stored is None:
            abort(409, "The file is not in the bucket yet: send it to the presigned URL first.")
        # The upload's user_id is a foreign key (ON DELETE CASCADE): its user is there.
        email = db.execute(select(User.email).where(User.id == g.user_id)).scalar_one()
        try:
            enqueue(settings, *completion_tasks(upload.id, email))
        except (BotoCoreError, ClientError, QueueNotConfigured, RuntimeError):
            log.exception("could not queue the tasks of upload %s", upload.id)
            abort(503, "The upload is stored but could not be queued for processing; try again shortly.")
        record_completion(upload, stored)
    log.info("upload %s completed (%s bytes)", upload.id, stored.size)
    return jsonify(describe(settings, upload))


def _already_completed(upload: Upload, settings: Settings) -> Response:
    """A second completion queues nothing: 409, saying so, with the state to follow instead."""
    answer = jsonify(
        error=f"Upload {upload.id} was already completed and is {upload.state}; nothing was queued again. "
              f"Follow its state at GET /uploads/{upload.id}.",
        status=409,
        state=upload.state,
        upload=describe(settings, upload),
    )
    answer.status_code = 409
    return answer


def _json_object() -> dict[str, Any]:
    if not request.is_json:
        abort(415, "Send a JSON body with Content-Type: application/json.")
    try:
        body = current_app.json.loads(request.get_data())
    except ValueError as exc:  # malformed, not UTF-8, or nested too deeply (web/json_provider.py)
        abort(400, f"The body is not a JSON object: {exc}.")
    if not isinstance(body, dict):
        abort(400, "The body is not a JSON object.")
    return body


def _display_name(raw: object) -> str:
    """The user's filename, for display only: a bare name, no paths, no control characters."""
    if not isinstance(raw, str) or not raw.strip():
        abort(400, "filename must be a non-empty string.")
    name = unicodedata.normalize("NFC", raw.strip())
    if len(name) > MAX_FILENAME:
        abort(400, f"filename is longer than {MAX_FILENAME} characters.")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith(".."):
        abort(400, "filename must be a bare file name, without a path.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        abort(400, "filename contains control characters.")
    return name
