"""Session-wide real servers (redis-server, MariaDB, the emulated AWS endpoint) and app factories."""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from flask import Flask

# Tests never reach real AWS: fixed local credentials, no profile.
from eb_tools.aws import LOCAL_ACCESS_KEY, LOCAL_REGION, LOCAL_SECRET_KEY  # noqa: E402

os.environ.update(AWS_ACCESS_KEY_ID=LOCAL_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=LOCAL_SECRET_KEY,
                  AWS_DEFAULT_REGION=LOCAL_REGION)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

from core import db, migrate  # noqa: E402
from core.settings import Settings  # noqa: E402
from eb_tools.cloud.server import LocalCloud  # noqa: E402
from tests.cloud_clients import local_client  # noqa: E402
from tests.servers import MariaDBServer, RedisServer  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true",
                     help="run tests/chaos in its long form (make bench): more tasks, longer load")


# The modules that keep a worker busy longest (half a minute to four minutes each, measured in full runs), in
# that order: pytest-xdist hands files to its workers in collection order (`make test` passes --dist loadfile
# and --no-loadscope-reorder, which would otherwise put the files with the most tests first), so these start
# first and the many short files fill in behind them; one of them handed out last ran alone for the last
# 100 s of a run.
LONGEST_FIRST = ("tests/e2e/test_browser_uploads.py", "tests/chaos/test_database_faults.py", "tests/test_local_up.py",
                 "tests/chaos/test_worker_faults.py", "tests/e2e/test_release_cycle.py", "tests/e2e/test_https.py",
                 "tests/test_destroy.py", "tests/test_local_data_stores.py", "tests/chaos/test_storage_faults.py",
                 "tests/chaos/test_redis_faults.py", "tests/test_release.py", "tests/test_db_drill.py",
                 "tests/chaos/test_web_faults.py", "tests/test_iam_policy.py", "tests/test_eb_cli.py",
                 "tests/test_diff.py", "tests/test_off_hours.py", "tests/test_worker_crash.py",
                 "tests/test_local_secret_rotation.py", "tests/test_local_ssm.py", "tests/test_logs_command.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first (LONGEST_FIRST; each module's tests keep their order). The long forms of
    tests/chaos run for minutes each (10,000 worker tasks): past the 300 s default."""
    items.sort(key=lambda item: _rank(item.nodeid.split("::")[0]))
    if config.getoption("--long"):
        for item in items:
            if "tests/chaos/" in item.nodeid:
                item.add_marker(pytest.mark.timeout(3600))


def _rank(module: str) -> int:
    return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.fixture(scope="session")
def long_run(request: pytest.FixtureRequest) -> bool:
    """Whether tests/chaos runs its long form (--long)."""
    return bool(request.config.getoption("--long"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory) -> Iterator[MariaDBServer]:
    server = MariaDBServer(tmp_path_factory.mktemp("mariadb")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cloud() -> Iterator[LocalCloud]:
    # Out of SES's sandbox, as a production account: the apps mail whoever signs up (the sandbox's refusals are
    # tests/test_local_ses.py's).
    server = LocalCloud(ses_production_access=True).start()
    yield server
    server.stop()


@pytest.fixture
def database_url(mariadb: MariaDBServer) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield mariadb.create_database(name)
    mariadb.drop_database(name)


def aws_client(cloud: LocalCloud, service: str) -> Any:
    return local_client(service, cloud.url)


@contextmanager
def eb_transition_seconds(cloud: LocalCloud, seconds: float) -> Iterator[None]:
    """Each simulated EB step of `cloud` takes `seconds` within the block; as before after it. For a fixture
    wider than a test (the eb_seconds fixture is the way for a test)."""
    previous, cloud.eb_transition_seconds = cloud.eb_transition_seconds, seconds
    try:
        yield
    finally:
        cloud.eb_transition_seconds = previous


EbSeconds = Callable[[LocalCloud, float], None]  # the eb_seconds fixture's type


@pytest.fixture
def eb_seconds() -> Iterator[EbSeconds]:
    """`eb_seconds(cloud, seconds)`: from now on, for this test, each simulated EB step of `cloud` takes
    `seconds` (LocalCloud.eb_transition_seconds); every cloud set is put back as it was after the test."""
    with ExitStack() as restore:
        yield lambda cloud, seconds: restore.enter_context(eb_transition_seconds(cloud, seconds))


@pytest.fixture
def eb(cloud: LocalCloud, eb_seconds: EbSeconds) -> Any:
    """An Elastic Beanstalk client of the session's cloud, whose EB takes 0.2 s a step for the test."""
    eb_seconds(cloud, 0.2)
    return aws_client(cloud, "elasticbeanstalk")


@pytest.fixture
def aws(cloud: LocalCloud) -> dict[str, str]:
    """Fresh buckets, worker queue and verified sender in the emulated cloud."""
    suffix = uuid.uuid4().hex[:10]
    bucket = f"uploads-{suffix}"
    aws_client(cloud, "s3").create_bucket(Bucket=bucket)
    queue_url = aws_client(cloud, "sqs").create_queue(QueueName=f"worker-{suffix}")["QueueUrl"]
    backups = f"backups-{suffix}"
    aws_client(cloud, "s3").create_bucket(Bucket=backups)
    sender = f"no-reply@{suffix}.example.com"
    aws_client(cloud, "ses").verify_email_identity(EmailAddress=sender)
    cloud.verify_email_identity(LOCAL_REGION, sender)  # as its owner follows SES's link
    return {"UPLOADS_BUCKET": bucket, "BACKUP_BUCKET": backups, "WORKER_QUEUE_URL": queue_url, "MAIL_FROM": sender}


@pytest.fixture
def env(database_url: str, redis_server: RedisServer, cloud: LocalCloud, aws: dict[str, str],
        tmp_path) -> dict[str, str]:
    """The environment properties of one stage, as Elastic Beanstalk would set them."""
    return {
        "APP_ROLE": "web",
        "STAGE": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "AWS_ENDPOINT_URL": cloud.url,
        "AWS_REGION": "us-east-1",
        "SECRET_KEY": "test-secret-key",
        "LOCAL_DATA_DIR": str(tmp_path / "data"),
        **aws,
    }


@pytest.fixture
def make_app(env: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Build apps like EB instances of one stage: same settings, own engines; APP_ROLE picks."""
    databases: list[db.Database] = []

    def factory(**overrides: str) -> Flask:
        import web
        import worker

        settings = Settings.from_env({**env, **overrides})
        database = db.from_settings(settings)
        if not databases:
            migrate.upgrade(database)
        databases.append(database)
        return (worker if settings.role == "worker" else web).create_app(settings, database)

    yield factory
    for database in databases:
        database.dispose()
