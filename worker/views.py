"""The endpoints sqsd POSTs to: queued tasks at /, cron.yaml's periodic tasks at /periodic/<name>.

Answers: 200 when the message is done, a duplicate, or rejected for good (so sqsd
deletes it); 409 when another delivery of the same key is running; 500 when the
task failed (sqsd retries after ErrorVisibilityTimeout; past MaxRetries the queue
moves the message to the dead-letter queue); 200 `gave_up` when an at-most-once task's
process died inside its downstream call (worker/ledger.py), flagged in the ledger. Nothing is lost: every message ends
done, rejected with a reason in the ledger, or in the DLQ. Requests that are not
sqsd's get 403; a body larger than any SQS message cannot come from sqsd and gets 413.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from core import logs
from core.models import TaskLedger
from core.queue import Envelope, EnvelopeError
from worker import ledger
from worker.registry import BoundTask, Reject, TaskContext, periodic, shown, tasks
from worker.sqsd import MAX_MESSAGE_BYTES, SqsdMessage

bp = Blueprint("sqsd", __name__)
log = logging.getLogger(__name__)


@bp.before_app_request
def only_sqsd() -> None:
    """Only sqsd on this instance may POST work; everything else is refused."""
    if request.endpoint == "sqsd.healthz":
        return None
    message = SqsdMessage.from_environ(request.environ)
    if message is None:
        abort(403, "Only the sqsd daemon may call the worker.")
    g.sqsd = message
    g.log_context = logs.bind(request_id=message.msgid)  # every line of the delivery names the SQS message
    return None


@bp.teardown_app_request
def unbind(_: BaseException | None) -> None:
    token = g.pop("log_context", None)
    if token is not None:
        logs.unbind(token)


@bp.get("/healthz")
def healthz() -> Response:
    """The process only, and the version it started on (core/version.py), as the web tier's."""
    return jsonify(status="ok", version=current_app.extensions.get("version_label"))


@bp.post("/")
def run_task() -> Response | tuple[Response, int]:
    message: SqsdMessage = g.sqsd
    settings = current_app.extensions["settings"]
    database = current_app.extensions["database"]
    body = request.get_data()  # at most one byte past the maximum (MAX_CONTENT_LENGTH), chunked or not
    if len(body) > MAX_MESSAGE_BYTES:
        abort(413, f"The body is larger than an SQS message can be ({MAX_MESSAGE_BYTES} bytes).")
    try:
        envelope = Envelope.from_json(body)
    except EnvelopeError as exc:
        reason = f"bad envelope: {exc}"
        log.error("rejecting message %.200s: %s", message.msgid, reason)
        key = ledger.bounded_key(f"msg:{message.msgid}")
        ledger.reject(database, key, "?", reason, settings.ledger_retention_days)
        return jsonify(status="rejected", reason=reason)
    return _execute(envelope.idempotency_key, envelope.task, envelope.trace_id,
                    lambda: tasks.bind(envelope.task, envelope.args))


@bp.post("/periodic/<name>")
def run_periodic(name: str) -> Response | tuple[Response, int]:
    message: SqsdMessage = g.sqsd
    # One run per schedule slot: a redelivery of the same slot finds the key done.
    key = ledger.bounded_key(f"cron:{name}:{message.scheduled_at or message.msgid}")
    return _execute(key, f"periodic.{name}", None, lambda: _periodic_task(name, message))


def _periodic_task(name: str, message: SqsdMessage) -> BoundTask:
    if message.taskname and message.taskname != name:  # no delivery of this message can ever agree
        raise Reject(f"the URL names periodic task {shown(name)} but X-Aws-Sqsd-Taskname says "
                     f"{shown(message.taskname)}")
    return periodic.bind(name, {})


def _execute(
    key: str, task: str, trace_id: str | None, bind: Callable[[], BoundTask]
) -> Response | tuple[Response, int]:
    """The task under its log context: the trace its envelope carries (a periodic run starts one), which every
    task it queues carries on."""
    with logs.bound(task=task, idempotency_key=key, trace_id=trace_id or logs.new_trace_id()):
        return _run(key, task, bind)


def _run(key: str, task: str, bind: Callable[[], BoundTask]) -> Response | tuple[Response, int]:
    settings = current_app.extensions["settings"]
    database = current_app.extensions["database"]
    try:
        handler = bind()
    except Reject as exc:
        log.error("rejecting %s (%.100s): %s", key, task, exc)
        ledger.reject(database, key, task, str(exc), settings.ledger_retention_days)
        return jsonify(status="rejected", reason=str(exc))
    owner = uuid.uuid4().hex
    claimed = ledger.claim(database, key, task, owner, settings.task_lease_seconds, settings.ledger_retention_days,
                           handler.on_crash)
    if claimed is ledger.Claim.GAVE_UP:
        return jsonify(status="gave_up", reason=ledger.DIED_INSIDE)
    if claimed in (ledger.Claim.DONE, ledger.Claim.REJECTED):
        return jsonify(status="duplicate", previous=claimed.value)
    if claimed is ledger.Claim.BUSY:
        return jsonify(status="busy", reason="another delivery of this key is running"), 409
    context = TaskContext(settings, database, g.sqsd, key, logs.current("trace_id"), owner)
    try:
        result = handler.run(context)
    except ledger.LeaseLost:
        log.warning("task %s (%.100s) lost its lease before its call; the new holder goes on", key, task)
        return jsonify(status="busy", reason="another delivery of this key took it over"), 409
    except Reject as exc:
        log.error("task %s (%.100s) rejected: %s", key, task, exc)
        ledger.finish(database, key, owner, TaskLedger.REJECTED, str(exc))
        return jsonify(status="rejected", reason=str(exc))
    except Exception as exc:  # any failure is retried by sqsd, then dead-lettered
        log.exception("task %s (%.100s) failed", key, task)
        ledger.finish(database, key, owner, TaskLedger.FAILED, f"{type(exc).__name__}: {exc}")
        return jsonify(status="failed", error=type(exc).__name__), 500
    ledger.finish(database, key, owner, TaskLedger.DONE, result)
    log.info("%.100s done", task)
    return jsonify(status="done", result=result)
