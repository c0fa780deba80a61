"""Health checks: a cheap one for the load balancer, a deep one that names what is down."""
from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Engine, text

from core import migrate
from core.aws import client
from core.settings import Settings
from web import context

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """No dependencies: a slow database must not make the load balancer drop instances. It names the version
    the process started on (core/version.py), so each instance's version can be proved from outside."""
    return jsonify(status="ok", version=current_app.extensions.get("version_label"))


@bp.get("/healthz/deep")
def deep() -> tuple[Response, int]:
    settings, database = context.settings(), context.database()
    checks: dict[str, Callable[[], object]] = {
        "database_writer": lambda: _select_one(database.writer),
        "database_reader": lambda: _select_one(database.reader),
        "redis": _redis,
        "s3": lambda: client(settings, "s3").head_bucket(Bucket=settings.uploads_bucket),
        "sqs": lambda: _sqs(settings),
    }
    results = {name: _run(check) for name, check in checks.items()}
    failing = sorted(name for name, result in results.items() if not result["ok"])
    if not _from_inside():  # the internet learns what is down, not hostnames or error texts
        results = {name: {"ok": result["ok"]} for name, result in results.items()}
    body = {"status": "ok" if not failing else "failing", "failing": failing, "checks": results,
            "schema": _schema(database.writer)}
    return jsonify(body), 200 if not failing else 503


def _schema(engine: Engine) -> dict[str, str | None]:
    """The revision this code's migrations end at and the one the database is at: during a rolling deployment
    or after a rollback the database may be ahead of the code (eb_tools refuses code it would break)."""
    if "schema_head" not in current_app.extensions:  # the scripts are read once per process, not per request
        current_app.extensions["schema_head"] = migrate.head()
    code = current_app.extensions["schema_head"]
    try:
        with engine.connect() as conn:
            database = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # the database check above names the outage
        database = None
    return {"code": code, "database": None if database is None else str(database)}


def _from_inside() -> bool:
    """The instance itself, the VPC or an operator's tunnel: loopback and private addresses."""
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_private
    except ValueError:
        return False


def _run(check: Callable[[], object]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # each dependency reports its own failure by name
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    result: dict[str, object] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if isinstance(detail, str):
        result["detail"] = detail
    return result


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _redis() -> str:
    store = current_app.config.get("SESSION_REDIS")
    if store is None:
        return "not configured (local file session store)"
    store.ping()
    return "pong"


def _sqs(settings: Settings) -> str | None:
    if not settings.worker_queue_url:
        raise RuntimeError("WORKER_QUEUE_URL is not set")
    client(settings, "sqs").get_queue_attributes(
        QueueUrl=settings.worker_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return None
