"""The apps the worker benchmark serves under identical gunicorn settings, and the bare connection the floor
lines of both benchmarks use."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy.engine import URL


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


def kept_connection(url: URL) -> Callable[[], Any]:
    """A bare PyMySQL connection per thread in autocommit, made on first use and kept: a floor line's database,
    with no pool, engine or ORM."""
    import pymysql

    local = threading.local()

    def connection() -> Any:
        if not hasattr(local, "db"):
            local.db = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                       password=url.password or "", database=url.database, autocommit=True)
        return local.db

    return connection


def ledger_floor() -> Flask:
    """The least a task with the ledger's guarantee must do, with nothing of the app's: the claim (an INSERT
    committed before the task runs) and the finish (an UPDATE committed before the 200), each one round trip
    in autocommit through bare PyMySQL on a connection kept per thread. The worker app cannot beat this line."""
    from core.models import utcnow
    from core.settings import Settings

    connection = kept_connection(Settings.from_env().database_url)
    app = Flask("floor")

    @app.post("/")
    def task() -> tuple[str, int]:
        key, owner, now = uuid.uuid4().hex, uuid.uuid4().hex, utcnow()
        with connection().cursor() as cursor:
            cursor.execute("INSERT INTO task_ledger (`key`, task, state, attempts, owner, lease_until, created_at, "
                           "updated_at, expires_at, crashes_in_call) VALUES (%s, 'bench.noop', 'in_progress', 1, %s, "
                           "%s, %s, %s, %s, 0)", (key, owner, now + timedelta(seconds=240), now, now,
                                                  now + timedelta(days=14)))
            cursor.execute("UPDATE task_ledger SET state = 'done', result = 'null', lease_until = NULL, "
                           "updated_at = %s WHERE `key` = %s AND owner = %s", (now, key, owner))
        return "", 200

    return app
