"""A request's trace: the Root of the load balancer's X-Amzn-Trace-Id (or a new id when there is none), bound to
every line the request logs and to every task it queues (core/logs.py, core/queue.py), and echoed on the answer
as X-Request-Id, so a user's report can name it."""
from __future__ import annotations

from flask import Flask, Response, g, request

from core import logs

ECHOED = "X-Request-Id"


def init(app: Flask) -> None:
    """Call first in create_app: its before_request then runs before any other (CSRF, throttles) logs a line."""

    @app.before_request
    def bind() -> None:
        trace = logs.trace_id_of(request.headers.get("X-Amzn-Trace-Id"))
        g.log_context = logs.bind(request_id=trace, trace_id=trace)

    @app.after_request
    def echo(response: Response) -> Response:
        trace = logs.current("trace_id")
        if trace:
            response.headers[ECHOED] = trace
        return response

    @app.teardown_request
    def unbind(_: BaseException | None) -> None:
        token = g.pop("log_context", None)
        if token is not None:
            logs.unbind(token)
