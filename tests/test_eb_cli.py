"""The real `eb` CLI against the local cloud: init, create (web and worker), deploy, status,
list, appversion, events, swap; asserting on what it prints and on the emulated state."""
from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from pathlib import Path

import pytest

from eb_tools.local.elasticbeanstalk import LocalEBBackend
from tests.conftest import aws_client

EB = str(Path(sys.executable).parent / "eb")


@pytest.fixture(scope="module")
def project(cloud, tmp_path_factory):
    """A git project initialised with `eb init`, with a web and a worker environment."""
    previous, LocalEBBackend.transition_seconds = LocalEBBackend.transition_seconds, 0.3
    root = tmp_path_factory.mktemp("ebproject")
    app = f"shop-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "HOME": str(root), "AWS_ENDPOINT_URL": cloud.url, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_MAX_ATTEMPTS": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "TERM": "xterm"}
    work = root / "app"
    work.mkdir()
    (work / "Procfile").write_text("web: gunicorn --config gunicorn.conf.py wsgi:application\n")
    (work / "wsgi.py").write_text("application = None\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True)

    def eb(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([EB, *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    init = eb("init", "-p", "python-3.11", app, "--region", "us-east-1")
    assert f"Application {app} has been created." in init.stdout + init.stderr
    assert "default_platform: Python 3.11" in (work / ".elasticbeanstalk" / "config.yml").read_text()
    web = eb("create", f"{app}-web", "--cname", f"{app}-web")
    assert f"Successfully launched environment: {app}-web" in web.stdout
    worker = eb("create", f"{app}-worker", "--tier", "worker")
    assert f"Successfully launched environment: {app}-worker" in worker.stdout
    yield {"app": app, "eb": eb, "work": work, "env": env}
    LocalEBBackend.transition_seconds = previous


def environments(cloud, app: str) -> dict[str, dict]:
    found = aws_client(cloud, "elasticbeanstalk").describe_environments(ApplicationName=app, IncludeDeleted=False)
    return {e["EnvironmentName"]: e for e in found["Environments"]}


def test_create_made_both_tiers(project, cloud):
    app = project["app"]
    envs = environments(cloud, app)
    assert envs[f"{app}-web"]["Tier"]["Name"] == "WebServer" and envs[f"{app}-worker"]["Tier"]["Name"] == "Worker"
    assert envs[f"{app}-web"]["CNAME"] == f"{app}-web.us-east-1.elasticbeanstalk.com"
    assert {e["Status"] for e in envs.values()} == {"Ready"}
    roles = aws_client(cloud, "iam").list_attached_role_policies(RoleName="aws-elasticbeanstalk-ec2-role")
    assert "AWSElasticBeanstalkWorkerTier" in {p["PolicyName"] for p in roles["AttachedPolicies"]}


def test_deploy_status_list_and_events(project, cloud):
    app, eb, work = project["app"], project["eb"], project["work"]
    (work / "wsgi.py").write_text("application = 'v2'\n")
    subprocess.run(["git", "commit", "-qam", "second"], cwd=work, env=project["env"], check=True)
    deployed = eb("deploy", f"{app}-web", "--label", "v2", "--message", "second release")
    assert "Environment update completed successfully." in deployed.stdout
    assert environments(cloud, app)[f"{app}-web"]["VersionLabel"] == "v2"

    status = eb("status", f"{app}-web").stdout
    assert "Deployed Version: v2" in status and "Status: Ready" in status and "Health: Green" in status
    listed = eb("list").stdout.split()
    assert f"{app}-web" in " ".join(listed) and f"{app}-worker" in listed
    events = eb("events", f"{app}-web").stdout
    assert "Environment update is starting." in events and "Successfully launched environment" in events


def test_a_failed_deploy_fails_the_command_and_leaves_the_instances_on_the_broken_version(project, cloud):
    """As on EB with the CLI's default policy (all at once): no rollback. The environment keeps naming the
    previous version (EB's expected version) while its instances run the one that failed its health checks."""
    app, eb = project["app"], project["eb"]
    before = environments(cloud, app)[f"{app}-worker"].get("VersionLabel")
    failed = eb("deploy", f"{app}-worker", "--label", "broken", "--message", "[local:fail] bad build", check=False)
    assert failed.returncode != 0
    assert "ERROR" in failed.stdout and "Failed to deploy application." in failed.stdout + failed.stderr
    assert "did not pass health check after command execution. Aborting the operation." in failed.stdout
    after = environments(cloud, app)[f"{app}-worker"]
    assert (after["VersionLabel"], after["Health"], after["HealthStatus"]) == (before, "Red", "Severe")
    eb_api = aws_client(cloud, "elasticbeanstalk")
    listed = eb_api.describe_instances_health(EnvironmentName=f"{app}-worker", AttributeNames=["All"])
    assert {(i["Deployment"]["VersionLabel"], i["HealthStatus"]) for i in listed["InstanceHealthList"]} == {
        ("broken", "Severe")}
    causes = eb_api.describe_environment_health(EnvironmentName=f"{app}-worker", AttributeNames=["All"])["Causes"]
    assert causes[0].startswith(f'Incorrect application version found on all instances. Expected version "{before}"')


def test_swap(project, cloud):
    app, eb = project["app"], project["eb"]
    eb("create", f"{app}-green", "--cname", f"{app}-green")
    swapped = eb("swap", f"{app}-web", "--destination_name", f"{app}-green")
    assert "Completed swapping CNAMEs for environments" in swapped.stdout
    envs = environments(cloud, app)
    assert envs[f"{app}-web"]["CNAME"].startswith(f"{app}-green.")
    assert envs[f"{app}-green"]["CNAME"].startswith(f"{app}-web.")


def test_appversion_lists_versions(project):
    """`eb appversion` is a full-screen UI: drive it through a terminal and quit with q."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become `eb appversion` in the project
        os.chdir(project["work"])
        os.execve(EB, [EB, "appversion"], project["env"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # a 0x0 terminal draws no rows
    screen, deadline, quit_sent = b"", time.monotonic() + 60, False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
            if not quit_sent and b"v2" in screen:
                os.write(fd, b"q")
                quit_sent = True
    finally:
        _, status = os.waitpid(pid, 0)
    text = screen.decode(errors="replace")
    assert quit_sent, text[-2000:]
    assert "v2" in text and "second release" in text and "broken" in text
    assert os.waitstatus_to_exitcode(status) == 0
