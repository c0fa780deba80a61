"""The two apps the worker benchmark serves under identical gunicorn settings."""
from __future__ import annotations

from flask import Flask


def worker_app() -> Flask:
    """The real worker app (sqsd check, envelope, ledger) with a task that does nothing."""
    import worker
    from worker.registry import tasks

    @tasks("bench.noop")
    def noop(ctx) -> None:
        return None

    return worker.create_app()


def bare_app() -> Flask:
    """The floor: Flask answering 200 to a POST, nothing else."""
    app = Flask("bare")

    @app.post("/")
    def ok() -> tuple[str, int]:
        return "", 200

    return app
