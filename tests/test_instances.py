"""The emulated cloud's instances (eb_tools/cloud/instances): real process groups running a version as the EB
Python platform runs it, against bundles built from this repository and small broken ones made here.

What is proved: a good bundle ends healthy, its /healthz (through the instance's nginx) naming the label, its
migrations applied by the predeploy hook through get-config; an unchanged requirements set reuses its
virtualenv (times printed); each real failure (the app cannot import, a missing dependency, a failing hook,
container command or migration, an app that never answers) fails the Job with EB's instruction and words and
the cause; a failed predeploy leaves the old version serving; hooks and commands see EB's paths and cloud-init's
instance data; stop leaves no process behind, also in the middle of a deployment.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
import requests
from sqlalchemy.engine import make_url

from eb_tools import bundle as source_bundle
from eb_tools.cloud.instances import InstanceRuntime, Job, namespace
from eb_tools.cloud.instances.jobs import (
    CANCELLED,
    COMMAND_FAILED,
    DEPENDENCIES_FAILED,
    DEPLOYMENT_FAILED,
    HEALTH_CHECK,
)
from eb_tools.errors import CloudError
from tests.servers import RedisServer

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_TIMEOUT = 180


def zipped(files: dict[str, str], executable: frozenset[str] = frozenset()) -> bytes:
    """A source bundle of `files`, those in `executable` with mode 755, as `eb_tools bundle` writes them."""
    return source_bundle.write_zip([source_bundle.Entry(path, 0o755 if path in executable else 0o644, data.encode())
                                    for path, data in sorted(files.items())])


def repository_bundle(replace: dict[str, str] | None = None) -> bytes:
    """This repository's working tree as `eb_tools bundle --working-tree` bundles it, with files replaced."""
    entries = {e.path: e for e in source_bundle.worktree_entries(ROOT)}
    for path, text in (replace or {}).items():
        entries[path] = source_bundle.Entry(path, 0o644, text.encode())
    return source_bundle.write_zip(sorted(entries.values(), key=lambda e: e.path))


# A WSGI app of the standard library only, whose /healthz names the label as the repository's does.
SMALL_APP = """\
from core_version import running_label

LABEL = running_label()  # the version the process started on


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [('{"status": "ok", "version": "%s"}' % LABEL).encode()]
"""


def small_bundle(extra: dict[str, str] | None = None, executable: frozenset[str] = frozenset()) -> bytes:
    """A bundle without requirements.txt (pip has nothing to do): the Procfile's gunicorn serving SMALL_APP."""
    files = {"Procfile": "web: gunicorn --bind 127.0.0.1:$PORT --workers 1 app:application\n", "app.py": SMALL_APP,
             "core_version.py": (ROOT / "core" / "version.py").read_text(), **(extra or {})}
    return zipped(files, executable)


def finished(job: Job, timeout: float = DEPLOY_TIMEOUT) -> Job:
    assert job.wait(timeout), f"the deployment of {job.label} to {job.instance_id} did not end in {timeout} s"
    return job


def group_members(groups: set[int]) -> list[int]:
    """The running processes whose process group is one of `groups`, from /proc. Zombies are not running: an
    orphan killed with its group waits there for the machine's init to reap it, which some containers' never
    does."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in groups and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstanceRuntime]:
    instances = InstanceRuntime(tmp_path_factory.mktemp("instances"), health_timeout=60, command_timeout=120)
    yield instances
    instances.stop_all()


@pytest.fixture
def app_environment(database_url: str, redis_server: RedisServer) -> dict[str, str]:
    """What a stage's processes get: its properties (a real MariaDB and Redis), the operating system's share
    and the declared overrides that matter here (GUNICORN_WORKERS keeps two cores' share small)."""
    return {"APP_ROLE": "web", "STAGE": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_server.url,
            "SECRET_KEY": "instances-test-key", "AWS_REGION": "us-east-1", "GUNICORN_WORKERS": "1",
            **{name: os.environ[name] for name in ("HOME", "LANG", "PATH") if name in os.environ}}


def schema_revision(database_url: str) -> str | None:
    url = make_url(database_url)
    connection = pymysql.connect(host=url.host, port=url.port, user=url.username, password=url.password or "",
                                 database=url.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            row = cursor.fetchone()
    finally:
        connection.close()
    return row[0] if row else None


def test_a_repository_bundle_runs_healthy_behind_its_nginx_and_names_its_label(
        runtime: InstanceRuntime, app_environment: dict[str, str], database_url: str) -> None:
    label = f"v-{uuid.uuid4().hex[:8]}"
    job = finished(runtime.deploy("i-web1", "WebServer", label, repository_bundle(), app_environment))
    assert job.healthy, job.failure
    host, port = runtime.address("i-web1")
    answer = requests.get(f"http://{host}:{port}/healthz", timeout=5)
    assert answer.json() == {"status": "ok", "version": label}
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # the bundle's .platform/nginx file, in nginx
    assert runtime.health("i-web1").ok and runtime.health("i-web1").label == label
    assert schema_revision(database_url) is not None  # the predeploy hook migrated, reading get-config
    print(f"\nfirst deployment of the repository's bundle: {job.seconds['total']:.1f} s, of which installing "
          f"requirements.txt into a new virtualenv {job.seconds['InstallDependency']:.2f} s")


def test_an_unchanged_requirements_set_reuses_its_virtualenv_and_a_changed_one_is_installed(
        runtime: InstanceRuntime, app_environment: dict[str, str]) -> None:
    worker = {**app_environment, "APP_ROLE": "worker"}
    label = f"v-{uuid.uuid4().hex[:8]}"
    first = finished(runtime.deploy("i-worker1", "Worker", label, repository_bundle(), worker))
    assert first.healthy, first.failure
    assert first.venv_reused  # the web instance's deployment made it
    host, port = runtime.address("i-worker1")  # a worker's app itself, where sqsd posts
    assert requests.get(f"http://{host}:{port}/healthz", timeout=5).json()["version"] == label
    requirements = (ROOT / "requirements.txt").read_text() + "# a changed set: another digest\n"
    changed = finished(runtime.deploy("i-worker1", "Worker", f"{label}-b", repository_bundle(
        {"requirements.txt": requirements}), worker))
    assert changed.healthy, changed.failure
    assert changed.venv_reused is False
    unchanged, new = first.seconds["InstallDependency"], changed.seconds["InstallDependency"]
    assert unchanged < 0.5 < new
    print(f"\nrequirements.txt unchanged: {unchanged * 1000:.1f} ms; changed: {new:.2f} s; a deployment "
          f"start to healthy with unchanged requirements: {first.seconds['total']:.1f} s")


def test_an_app_that_cannot_import_fails_the_deployment_in_the_warm_hook(
        runtime: InstanceRuntime, app_environment: dict[str, str]) -> None:
    broken = repository_bundle({"web/health.py": "import a_module_nobody_wrote\n"})
    job = finished(runtime.deploy("i-web2", "WebServer", "v-import", broken, app_environment))
    assert job.failure is not None and not job.failure.health_check
    assert job.failure.instruction == "RunAppDeployPostDeployHooks"
    assert job.failure.reason.startswith("An error occurred during execution of command [app-deploy] - "
                                         "[RunAppDeployPostDeployHooks]. Stop running the command. Error: Command "
                                         ".platform/hooks/postdeploy/01_warm.sh failed with error exit status")
    assert "ModuleNotFoundError: No module named 'a_module_nobody_wrote'" in job.failure.output
    assert job.failure.events == (("ERROR", DEPLOYMENT_FAILED), ("ERROR", COMMAND_FAILED.format(id="i-web2")))
    deadline = time.monotonic() + 30  # gunicorn's master stops once its worker has failed to boot
    while runtime.health("i-web2").state != "exited":
        assert time.monotonic() < deadline, runtime.health("i-web2")
        time.sleep(0.1)


def test_a_missing_dependency_fails_the_install(runtime: InstanceRuntime, app_environment: dict[str, str]) -> None:
    job = finished(runtime.deploy("i-web3", "WebServer", "v-deps", small_bundle(
        {"requirements.txt": "a-package-this-machine-lacks==1.0\n"}), app_environment))
    assert job.failure is not None and job.failure.instruction == "InstallDependency"
    assert "Error: fail to install dependencies with requirements.txt file with error Command " \
           "/var/app/venv/staging-LQM1lest/bin/pip install" in job.failure.reason
    assert "No matching distribution found for a-package-this-machine-lacks==1.0" in job.failure.detail
    assert job.failure.events[0] == ("ERROR", DEPENDENCIES_FAILED)
    retried = finished(runtime.deploy("i-web3", "WebServer", "v-deps2", small_bundle(
        {"requirements.txt": "a-package-this-machine-lacks==1.0\n"}), app_environment))
    assert retried.failure is not None and retried.venv_reused is None  # a failed install is never kept


def test_a_failing_predeploy_hook_fails_the_deployment_and_the_old_version_keeps_serving(
        runtime: InstanceRuntime, app_environment: dict[str, str]) -> None:
    good = finished(runtime.deploy("i-web4", "WebServer", "v-good", small_bundle(), app_environment))
    assert good.healthy, good.failure
    hook = ".platform/hooks/predeploy/01_fail.sh"
    job = finished(runtime.deploy("i-web4", "WebServer", "v-hook", small_bundle(
        {hook: "#!/bin/sh\necho 'cannot go on' >&2\nexit 3\n"}, frozenset({hook})), app_environment))
    assert job.failure is not None and job.failure.instruction == "RunAppDeployPreDeployHooks"
    assert job.failure.detail == f"Command {hook} failed with error exit status 3. Stderr:cannot go on"
    assert runtime.health("i-web4").label == "v-good"  # the flip never happened


def test_a_failing_container_command_fails_the_deployment(runtime: InstanceRuntime,
                                                          app_environment: dict[str, str]) -> None:
    config = 'container_commands:\n  01_fine:\n    command: "true"\n  02_fails:\n    command: echo nope >&2; exit 2\n'
    job = finished(runtime.deploy("i-web5", "WebServer", "v-cc", small_bundle(
        {".ebextensions/01_commands.config": config}), app_environment))
    assert job.failure is not None and job.failure.instruction == "PostBuildEbExtension"
    assert job.failure.reason.endswith("Error: Container commands build failed. Please refer to "
                                       "/var/log/cfn-init.log for more details.")
    assert job.failure.detail == "01_commands.config: command 02_fails failed with exit status 2: nope"
    cfn_init = (runtime.log_folder("i-web5") / "cfn-init.log").read_text()
    assert "[INFO] Command 01_fine succeeded" in cfn_init and "[ERROR] Command 02_fails" in cfn_init


def test_a_failing_migration_fails_the_predeploy_hook(runtime: InstanceRuntime,
                                                      app_environment: dict[str, str]) -> None:
    heads = sorted(p.stem for p in (ROOT / "core" / "migrations" / "versions").glob("0*.py"))
    migration = (f'revision = "9999"\ndown_revision = "{heads[-1].split("_")[0]}"\n\n\n'
                 'def upgrade() -> None:\n    raise RuntimeError("this migration cannot be applied")\n')
    job = finished(runtime.deploy("i-web6", "WebServer", "v-migration", repository_bundle(
        {"core/migrations/versions/9999_fails.py": migration}), app_environment))
    assert job.failure is not None and job.failure.instruction == "RunAppDeployPreDeployHooks"
    assert ".platform/hooks/predeploy/01_migrate.sh failed with error exit status 1" in job.failure.reason
    assert "RuntimeError: this migration cannot be applied" in job.failure.output


def test_an_app_that_never_answers_fails_its_health_check(tmp_path: Path, app_environment: dict[str, str]) -> None:
    impatient = InstanceRuntime(tmp_path / "impatient", health_timeout=3)
    try:
        job = finished(impatient.deploy("i-web7", "WebServer", "v-silent", small_bundle(
            {"Procfile": "web: python3 -c 'import time; time.sleep(600)'\n"}), app_environment))
    finally:
        impatient.stop_all()
    assert job.failure is not None and job.failure.health_check and job.failure.instruction == HEALTH_CHECK
    assert job.failure.reason.startswith("/healthz did not answer 200 within 3 s")
    assert job.failure.events == ()  # EB's steps say "did not pass health check"


def test_hooks_and_commands_see_elastic_beanstalk_paths(runtime: InstanceRuntime,
                                                        app_environment: dict[str, str]) -> None:
    probe = ("#!/bin/sh\n{ echo \"$0 in $(pwd)\"; ls -d /var/app/venv/*/bin; "
             "/opt/elasticbeanstalk/bin/get-config environment -k SECRET_KEY; echo; "
             "/opt/elasticbeanstalk/bin/get-config platformconfig -k AppDeployDir; echo; "
             "/opt/elasticbeanstalk/bin/get-config environment -k NOT_THERE || echo no-such-key; "
             "ls /var/app; } >> /var/log/paths.log\n")
    hooks = {f".platform/hooks/{phase}/01_probe.sh": probe for phase in ("prebuild", "predeploy", "postdeploy")}
    config = ("commands:\n  01_where:\n    command: pwd >> /var/log/paths.log\n"
              "  02_who:\n    command: cat /run/cloud-init/instance-data.json >> /var/log/paths.log\n")
    job = finished(runtime.deploy("i-web8", "WebServer", "v-paths", small_bundle(
        {**hooks, ".ebextensions/01.config": config}, frozenset(hooks)), app_environment))
    assert job.healthy, job.failure
    lines = (runtime.log_folder("i-web8") / "paths.log").read_text().splitlines()
    assert lines[0] == app_environment["HOME"]  # cfn-init runs `commands` in the root user's home
    assert json.loads(lines[1])["v1"]["instance_id"] == "i-web8"  # cloud-init's cache, as on an EC2 instance
    for phase, folder in (("prebuild", "staging"), ("predeploy", "staging"), ("postdeploy", "current")):
        at = lines.index(f".platform/hooks/{phase}/01_probe.sh in /var/app/{folder}")
        venv = [] if phase == "prebuild" else ["/var/app/venv/staging-LQM1lest/bin"]  # a new instance's: none yet
        assert lines[at + 1:at + 4 + len(venv)] == [*venv, "instances-test-key", "/var/app/current/", "no-such-key"]
    assert (runtime.log_folder("i-web8") / "web.stdout.log").is_file()
    assert (runtime.log_folder("i-web8") / "nginx" / "access.log").is_file()


def test_stop_leaves_no_process_behind(runtime: InstanceRuntime, app_environment: dict[str, str]) -> None:
    job = finished(runtime.deploy("i-web9", "WebServer", "v-stop", small_bundle(), app_environment))
    assert job.healthy, job.failure
    groups = set(runtime.process_groups("i-web9").values())
    assert len(group_members(groups)) >= 3  # nginx's master and worker, gunicorn's master and worker
    runtime.stop("i-web9")
    assert group_members(groups) == []
    assert runtime.health("i-web9").state == "stopped"


def test_stop_ends_a_deployment_that_is_running(runtime: InstanceRuntime, app_environment: dict[str, str]) -> None:
    hook = ".platform/hooks/prebuild/01_slow.sh"
    job = runtime.deploy("i-web10", "WebServer", "v-slow", small_bundle(
        {hook: "#!/bin/sh\nsleep 300 &\necho $$ > /var/log/slow.pid\nsleep 300\n"}, frozenset({hook})),
        app_environment)
    pid_file = runtime.log_folder("i-web10") / "slow.pid"
    deadline = time.monotonic() + 30
    while not pid_file.is_file() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline and not job.done, job.failure
        time.sleep(0.05)
    hook_group = int(pid_file.read_text())  # the hook is its step's process, which leads the step's group
    assert len(group_members({hook_group})) >= 2  # the hook and its background sleep
    runtime.stop("i-web10")
    assert finished(job, 10).failure is not None and job.failure.instruction == CANCELLED
    assert group_members({hook_group}) == []  # the hook and the sleep it left in the background


def test_a_machine_without_mount_namespaces_is_told_so_in_one_line(
        runtime: InstanceRuntime, monkeypatch: pytest.MonkeyPatch, app_environment: dict[str, str]) -> None:
    namespace._unshare.cache_clear()
    monkeypatch.setattr(namespace.shutil, "which", lambda name: "/bin/false")
    try:
        with pytest.raises(CloudError, match=r"need a mount namespace of their own, and `/bin/false --mount"):
            runtime.deploy("i-web11", "WebServer", "v-none", small_bundle(), app_environment)
    finally:
        namespace._unshare.cache_clear()


def test_a_runtime_under_var_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CloudError, match="lies under /var"):
        InstanceRuntime(Path("/var/tmp/instances"))


def test_abort_ends_a_deployment_and_the_old_version_keeps_serving(runtime: InstanceRuntime,
                                                                   app_environment: dict[str, str]) -> None:
    good = finished(runtime.deploy("i-web12", "WebServer", "v-old", small_bundle(), app_environment))
    assert good.healthy, good.failure
    hook = ".platform/hooks/predeploy/01_slow.sh"
    job = runtime.deploy("i-web12", "WebServer", "v-aborted", small_bundle(
        {hook: "#!/bin/sh\necho $$ > /var/log/slow.pid\nsleep 300\n"}, frozenset({hook})), app_environment)
    pid_file = runtime.log_folder("i-web12") / "slow.pid"
    deadline = time.monotonic() + 30
    while not pid_file.is_file() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline and not job.done, job.failure
        time.sleep(0.05)
    runtime.abort("i-web12")
    assert finished(job, 10).failure is not None and job.failure.instruction == CANCELLED
    assert runtime.health("i-web12").label == "v-old"
