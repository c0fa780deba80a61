"""Health checks: /healthz stays cheap; /healthz/deep names the dependency that is down."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core import migrate
from tests.servers import MariaDBServer, RedisServer


def test_deep_health_reports_every_dependency(make_app):
    response = make_app().test_client().get("/healthz/deep")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["failing"] == []
    assert set(body["checks"]) == {"database_writer", "database_reader", "redis", "s3", "sqs"}
    assert body["schema"] == {"code": migrate.head(), "database": migrate.head()}


def test_deep_health_shows_a_database_ahead_of_the_code_without_failing(make_app):
    """After a rollback the database keeps a later release's migrations: said, not a failure."""
    app = make_app()
    with app.extensions["database"].write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9001'"))
    response = app.test_client().get("/healthz/deep")
    assert response.status_code == 200
    assert response.get_json()["schema"] == {"code": migrate.head(), "database": "9001"}


def test_details_only_for_requests_from_inside(make_app):
    client = make_app(UPLOADS_BUCKET="no-such-bucket").test_client()
    inside = client.get("/healthz/deep").get_json()
    assert "NoSuchBucket" in inside["checks"]["s3"]["error"] or "404" in inside["checks"]["s3"]["error"]
    outside = client.get("/healthz/deep", environ_base={"REMOTE_ADDR": "8.8.8.8"})
    assert outside.status_code == 503 and outside.get_json()["failing"] == ["s3"]
    assert outside.get_json()["checks"]["s3"] == {"ok": False}
    assert "error" not in str(outside.get_json()["checks"])


# Behind Elastic Beanstalk's load balancer: the ALB appends the client's address to X-Forwarded-For
# (its default "append" mode), the instance's nginx appends the ALB's private address
# ($proxy_add_x_forwarded_for) and connects to gunicorn from loopback.
ALB = "10.0.1.17"


@pytest.mark.parametrize(
    ("forwarded_for", "inside"),
    [
        (f"8.8.4.4, {ALB}", False),  # someone on the internet
        (f"10.0.0.5, 8.8.4.4, {ALB}", False),  # ... who sent a private address of their own
        (f"127.0.0.1, 8.8.4.4, {ALB}", False),
        (f"10.0.2.44, {ALB}", True),  # a client inside the VPC, through the load balancer
        (None, True),  # an operator on the instance, straight to gunicorn
    ],
)
def test_details_only_for_the_inside_behind_the_load_balancer(make_app, forwarded_for, inside):
    client = make_app(UPLOADS_BUCKET="no-such-bucket").test_client()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.get("/healthz/deep", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 503
    assert ("error" in response.get_json()["checks"]["s3"]) is inside


def test_the_local_run_trusts_its_one_proxy(make_app):
    """`eb_tools local` puts only nginx in front of gunicorn, and says so with TRUSTED_PROXIES=1."""
    client = make_app(UPLOADS_BUCKET="no-such-bucket", TRUSTED_PROXIES="1").test_client()
    outside = client.get("/healthz/deep", headers={"X-Forwarded-For": "8.8.4.4"})
    assert "error" not in outside.get_json()["checks"]["s3"]
    inside = client.get("/healthz/deep", headers={"X-Forwarded-For": "10.0.0.5, 127.0.0.1"})
    assert "error" in inside.get_json()["checks"]["s3"]


def test_stopped_redis_is_named(make_app, tmp_path):
    redis = RedisServer(tmp_path / "redis").start()
    client = make_app(REDIS_URL=redis.url).test_client()
    assert client.get("/healthz/deep").status_code == 200
    redis.stop()
    response = client.get("/healthz/deep")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["redis"]
    assert client.get("/healthz").status_code == 200  # the load balancer keeps the instance


def test_stopped_database_is_named(make_app, tmp_path):
    server = MariaDBServer(tmp_path / "db").start()
    try:
        client = make_app(DATABASE_URL=server.create_database("app")).test_client()
        assert client.get("/healthz/deep").status_code == 200
    finally:
        server.stop()
    response = client.get("/healthz/deep")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["database_reader", "database_writer"]


def test_missing_bucket_and_queue_are_named(make_app, cloud):
    client = make_app(UPLOADS_BUCKET="no-such-bucket",
                      WORKER_QUEUE_URL=f"{cloud.url}/123456789012/no-such-queue").test_client()
    response = client.get("/healthz/deep")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["s3", "sqs"]
