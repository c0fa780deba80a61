"""Reads go to the reader engine, writes to the writer; migrations run once under a lock."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from core import db, migrate
from core.settings import Settings
from tests.chaos.tcp_proxy import TcpProxy
from tests.conftest import aws_client
from tests.helpers import sign_up
from tests.servers import MariaDBServer

ROOT = Path(__file__).resolve().parent.parent


def count_statements(database: db.Database) -> dict[str, Counter]:
    counts = {"writer": Counter(), "reader": Counter()}
    for name in counts:
        engine = getattr(database, name)

        def record(conn, cursor, statement, *args, _name=name):
            counts[_name][statement.split()[0].upper()] += 1

        event.listen(engine, "before_cursor_execute", record)
    return counts


def test_reads_use_the_reader_and_writes_the_writer(make_app, env):
    # The reader is a different host name for the same server, as a replica would be.
    app = make_app(DB_READER_HOST="localhost")
    database = app.extensions["database"]
    assert database.reader.url.host == "localhost" and database.writer.url.host == "127.0.0.1"
    counts = count_statements(database)
    browser = app.test_client()
    token = sign_up(browser, "reads@example.com")
    assert counts["writer"]["INSERT"] == 2  # the account and its sign-up link

    counts["writer"].clear(), counts["reader"].clear()
    assert browser.get("/uploads").status_code == 200
    assert counts["reader"]["SELECT"] >= 1 and counts["writer"]["SELECT"] == 0

    counts["writer"].clear(), counts["reader"].clear()
    response = browser.post("/uploads", json={"filename": "a.png", "content_type": "image/png", "size": 5},
                            headers={"X-CSRFToken": token})
    assert response.status_code == 201
    assert counts["writer"]["INSERT"] == 1 and sum(counts["reader"].values()) == 0


def test_the_reader_refuses_writes(env):
    settings = Settings.from_env({**env, "DB_READER_HOST": "localhost"})
    database = db.from_settings(settings)
    migrate.upgrade(database)
    with pytest.raises(OperationalError, match="READ ONLY"), database.read() as session:
        session.execute(text("INSERT INTO users (email, password_hash, created_at) VALUES ('x', 'y', NOW())"))
    database.dispose()


def test_reader_falls_back_to_the_writer(env):
    writer, reader = db.urls(Settings.from_env(env))
    assert reader == writer


HEAD = migrate.head()  # the newest migration, whichever it is


def test_concurrent_migrations_run_once(env):
    """Several instances' hooks start together: all succeed, one applies, the schema is whole."""
    procs = [
        subprocess.Popen([sys.executable, "-m", "core.migrate"], cwd=ROOT, env={**env, "PATH": "/usr/bin:/bin"},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    lines = [out.strip() for out, _ in outputs]
    assert sum("upgraded from empty" in line for line in lines) == 1, lines
    assert sum("already at head" in line for line in lines) == 3, lines
    database = db.from_settings(Settings.from_env(env))
    with database.read() as session:
        assert session.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
        tables = set(session.execute(text("SHOW TABLES")).scalars())
    assert {"users", "uploads", "task_ledger"} <= tables
    database.dispose()


def test_a_rollback_s_older_code_leaves_a_later_release_s_schema_alone(env):
    """The predeploy hook of a label rolled back to finds the schema at a revision its scripts do not know (a
    later release migrated it): it changes nothing and succeeds, where Alembic alone fails the deployment."""
    database = db.from_settings(Settings.from_env(env))
    migrate.upgrade(database)
    with database.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9001'"))
    hook = subprocess.run([sys.executable, "-m", "core.migrate"], cwd=ROOT, env={**env, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)
    assert hook.returncode == 0, hook.stderr
    assert hook.stdout.strip() == f"migrate: schema at 9001 (newer than this code's {HEAD}: a later release " \
                                  "migrated it; nothing to do)"
    with database.read() as session:
        assert session.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["9001"]
    database.dispose()


def test_a_stopped_database_answers_503_and_the_app_recovers_without_a_restart(make_app, tmp_path):
    server = MariaDBServer(tmp_path / "db").start()
    try:
        app = make_app(DATABASE_URL=server.create_database("app"))
        browser = app.test_client()
        token = sign_up(browser, "outage@example.com")
        server.stop()
        page = browser.get("/uploads")
        assert page.status_code == 503 and "database is unavailable" in page.get_data(as_text=True)
        write = browser.post("/uploads", json={"filename": "a.png", "content_type": "image/png", "size": 5},
                             headers={"X-CSRFToken": token})
        assert write.status_code == 503 and "database is unavailable" in write.get_json()["error"]
        server.start()
        assert browser.get("/uploads").status_code == 200  # the same app, its pool renewed
    finally:
        server.stop()


def test_a_silent_database_ends_the_wait_at_the_query_timeout(env, tmp_path):
    """A server that accepts and then says nothing (a failover's old address): even the greeting is waited
    for under the read timeout, so the error comes at once past it, and it counts as unavailable."""
    proxy = TcpProxy(("127.0.0.1", 9)).start()
    proxy.set_mode("blackhole")
    url = make_url(env["DATABASE_URL"]).set(port=proxy.port)
    database = db.from_settings(Settings.from_env({**env, "DATABASE_URL": url.render_as_string(False)}),
                                query_timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError) as raised, database.read() as session:
            session.execute(text("SELECT 1"))
    finally:
        database.dispose()
        proxy.stop()
    assert time.monotonic() - started < 5
    assert db.unavailable(raised.value)


def test_the_worker_ledger_on_a_silent_database_ends_at_the_query_timeout_too(env, tmp_path):
    """The ledger's autocommit engine (Database.autocommit_writer) bounds its waits as the other engines do:
    a task's claim on a silent server fails past the read timeout (the delivery answers 500; sqsd retries)."""
    import pymysql

    from worker import ledger

    proxy = TcpProxy(("127.0.0.1", 9)).start()
    proxy.set_mode("blackhole")
    url = make_url(env["DATABASE_URL"]).set(port=proxy.port)
    database = db.from_settings(Settings.from_env({**env, "DATABASE_URL": url.render_as_string(False)}),
                                query_timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises((OperationalError, pymysql.err.OperationalError)):
            ledger.claim(database, "silent:1", "email.send", "owner", lease_seconds=60, retention_days=1)
    finally:
        database.dispose()
        proxy.stop()
    assert time.monotonic() - started < 5


def test_a_wrong_query_is_not_an_outage(env):
    database = db.from_settings(Settings.from_env(env))
    with pytest.raises(ProgrammingError) as raised, database.read() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    database.dispose()
    assert not db.unavailable(raised.value)


def reader_status(database: db.Database) -> dict[str, int]:
    with database.read() as session:
        rows = session.execute(text("SHOW SESSION STATUS WHERE Variable_name IN "
                                    "('Com_rollback', 'Com_commit', 'Com_admin_commands')")).all()
    return {name: int(value) for name, value in rows}


def test_a_read_costs_one_round_trip(env):
    """No pre-ping, no COMMIT, no ROLLBACK around the reader's queries: each is one round trip (the uploads
    page's cost, benchmarks/web_path.py). Reads run one after the other reuse the one pooled connection."""
    database = db.from_settings(Settings.from_env(env))
    try:
        before = reader_status(database)
        for _ in range(3):
            with database.read() as session:
                assert session.execute(text("SELECT 1")).scalar() == 1
        assert reader_status(database) == before
    finally:
        database.dispose()


def test_a_reader_connection_the_server_killed_while_idle_is_replaced(env):
    """Without pre-ping, the checkout sees the closed socket and connects anew: the read succeeds."""
    database = db.from_settings(Settings.from_env(env))
    try:
        with database.read() as session:
            first = session.execute(text("SELECT CONNECTION_ID()")).scalar()
        with database.writer.connect() as conn:
            conn.execute(text(f"KILL {int(first)}"))
        time.sleep(0.2)  # the server closes the socket
        with database.read() as session:
            assert session.execute(text("SELECT CONNECTION_ID()")).scalar() != first
    finally:
        database.dispose()


def test_a_rotated_password_fails_no_login_and_no_query(env, mariadb, cloud):
    """A single-user rotation: the secret's AWSPENDING version gets the new password, the server takes it, then
    the secret's AWSCURRENT moves to it. Connections already open keep working; a new one during the rotation
    logs in with the pending credentials, and after it with the secret read again; no restart."""
    user, first, second = f"u{uuid.uuid4().hex[:10]}", "first-password-1", "second-password-2"
    name = make_url(env["DATABASE_URL"]).database
    with mariadb.root() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{first}'")
        cur.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'%'")
    secrets = aws_client(cloud, "secretsmanager")
    arn = secrets.create_secret(Name=f"db-{user}", SecretString=json.dumps(
        {"username": user, "password": first}))["ARN"]
    database = db.from_settings(Settings.from_env({**env, "DB_SECRET_ARN": arn}))
    try:
        with database.writer.connect() as open_before:
            assert open_before.execute(text("SELECT CURRENT_USER()")).scalar().startswith(user)
            pending = secrets.put_secret_value(SecretId=arn, VersionStages=["AWSPENDING"], SecretString=json.dumps(
                {"username": user, "password": second}))["VersionId"]
            with mariadb.root() as conn, conn.cursor() as cur:
                cur.execute(f"ALTER USER '{user}'@'%' IDENTIFIED BY '{second}'")
            assert open_before.execute(text("SELECT 1")).scalar() == 1  # still logged in
            with database.reader.connect() as during:  # refused twice (cached, current), then the pending ones
                assert during.execute(text("SELECT CURRENT_USER()")).scalar().startswith(user)
            current = next(v for v in secrets.list_secret_version_ids(SecretId=arn)["Versions"]
                           if "AWSCURRENT" in v["VersionStages"])["VersionId"]
            secrets.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=pending,
                                                RemoveFromVersionId=current)
            assert json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["password"] == second
            database.writer.dispose()  # the next connection is a new one: its cached credentials are the old ones
            with database.writer.connect() as after:
                assert after.execute(text("SELECT CURRENT_USER()")).scalar().startswith(user)
    finally:
        database.dispose()
