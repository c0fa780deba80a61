"""Error answers: JSON for API calls, HTML for pages, never a traceback or a leak."""
from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from core import db
from web.sessions import SessionStoreDown

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """API routes are the non-GET upload calls and the health checks; or the client asks."""
    if request.path.startswith("/healthz") or request.is_json:
        return True
    if request.path.startswith("/uploads") and request.method != "GET":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, message: str) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=message, status=status), status
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[Response | str, int]:
        return error_response(400, f"{exc.description} Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int, dict[str, str]]:
        original = getattr(exc, "original_exception", None)
        if isinstance(original, HTTPException):  # raised outside a view (saving the session): keep its answer
            exc = original
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        return (*error_response(exc.code or 500, exc.description or exc.name), headers)

    @app.errorhandler(redis.RedisError)
    def redis_down(exc: redis.RedisError) -> tuple[Response | str, int, dict[str, str]]:
        """Redis failed inside a view (rotating a session id at log-in): the same answer as before one."""
        log.warning("session store unreachable on %s %s: %s", request.method, request.path, exc)
        return http_error(SessionStoreDown())

    @app.errorhandler(SQLAlchemyError)
    def database_error(exc: SQLAlchemyError) -> tuple[Response | str, int]:
        """A database that cannot answer now (restart, failover, no connection left) is a 503 the client may
        retry; any other database error is a bug, a 500."""
        if not db.unavailable(exc):
            return unexpected(exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.path, str(exc).splitlines()[0])
        return error_response(503, "The database is unavailable for a moment; try again in a few seconds.")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response | str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, InternalServerError.description)
