"""The real `eb` CLI against the local cloud, a test per command of a user's day: init, create (web, worker,
--cfg), deploy, status, health, events, list, setenv/printenv, scale, tags, appversion, swap, config
save/get/list/delete, logs, abort, terminate, restore, open; asserting on what it prints and on the
emulated state."""
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

from eb_tools.aws import wait_until
from tests.conftest import aws_client, eb_transition_seconds

EB = str(Path(sys.executable).parent / "eb")
POLLING = Path(__file__).resolve().parent / "eb_cli_polling"  # the CLI polls EB every 0.5 s, not 5 (see there)


@pytest.fixture(scope="module")
def project(cloud, tmp_path_factory):
    """A git project initialised with `eb init`, with a web and a worker environment; EB takes 0.3 s a step."""
    with eb_transition_seconds(cloud, 0.3):
        yield from _initialised(cloud, tmp_path_factory)


def _initialised(cloud, tmp_path_factory):
    root = tmp_path_factory.mktemp("ebproject")
    app = f"shop-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "HOME": str(root), "AWS_ENDPOINT_URL": cloud.url, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_MAX_ATTEMPTS": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "TERM": "xterm", "PYTHONPATH": str(POLLING)}
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


def settings(cloud, app: str, env: str) -> dict[tuple[str, str], str | None]:
    described = aws_client(cloud, "elasticbeanstalk").describe_configuration_settings(ApplicationName=app,
                                                                                   EnvironmentName=env)
    return {(o["Namespace"], o["OptionName"]): o.get("Value") for o in described["ConfigurationSettings"][0][
        "OptionSettings"]}


def test_health(project, cloud):
    """`eb health` draws its enhanced-health screen once (no terminal: no refresh) from
    DescribeConfigurationSettings (Tier, SystemType), DescribeEnvironmentHealth and DescribeInstancesHealth."""
    app, eb = project["app"], project["eb"]
    ids = instances(cloud, f"{app}-worker")
    shown = eb("health", f"{app}-worker", "--mono").stdout
    assert f"{app}-worker" in shown and "Worker" in shown and "Python 3.11" in shown
    assert all(i in shown for i in ids) and "instance-id" in shown


def test_setenv_and_printenv(project, cloud):
    app, eb = project["app"], project["eb"]
    updated = eb("setenv", "GREETING=hello", "EMPTY_LATER=x", "-e", f"{app}-web")
    assert "Successfully deployed new configuration to environment." in updated.stdout
    printed = eb("printenv", f"{app}-web").stdout
    assert "GREETING = hello" in printed and "EMPTY_LATER = x" in printed
    eb("setenv", "EMPTY_LATER=", "-e", f"{app}-web")  # an empty value removes the property
    assert ("aws:elasticbeanstalk:application:environment", "EMPTY_LATER") not in settings(cloud, app, f"{app}-web")
    assert settings(cloud, app, f"{app}-web")[("aws:elasticbeanstalk:application:environment", "GREETING")] == "hello"


def test_scale(project, cloud):
    app, eb = project["app"], project["eb"]
    scaled = eb("scale", "3", f"{app}-worker")
    assert "Successfully deployed new configuration to environment." in scaled.stdout
    options = settings(cloud, app, f"{app}-worker")
    assert (options[("aws:autoscaling:asg", "MinSize")], options[("aws:autoscaling:asg", "MaxSize")]) == ("3", "3")
    listed = aws_client(cloud, "elasticbeanstalk").describe_instances_health(
        EnvironmentName=f"{app}-worker", AttributeNames=["All"])["InstanceHealthList"]
    assert len(listed) == 3  # the instances follow MinSize
    eb("scale", "1", f"{app}-worker")


def test_tags(project):
    app, eb = project["app"], project["eb"]
    added = eb("tags", f"{app}-web", "--add", "team=shop,cost=12")
    assert "Environment tag update completed successfully." in added.stdout
    listed = eb("tags", f"{app}-web", "--list").stdout
    assert "team" in listed and "shop" in listed and "cost" in listed
    eb("tags", f"{app}-web", "--delete", "cost")
    listed = eb("tags", f"{app}-web", "--list").stdout
    assert "team" in listed and "cost" not in listed
    refused = eb("tags", f"{app}-web", "--delete", "nope", check=False)
    assert refused.returncode != 0 and "nope" in refused.stdout + refused.stderr


def test_config_save_get_list_delete_and_create_from_it(project, cloud):
    """`eb config save` makes a template and downloads the file EB wrote to its storage bucket; `eb create
    --cfg` starts an environment from it, tier and settings included."""
    app, eb, work = project["app"], project["eb"], project["work"]
    eb("setenv", "FROM_CFG=yes", "-e", f"{app}-worker")
    saved = eb("config", "save", f"{app}-worker", "--cfg", "worker-cfg")
    local = work / ".elasticbeanstalk" / "saved_configs" / "worker-cfg.cfg.yml"
    assert f"Configuration saved at: {local}" in saved.stdout
    text = local.read_text()
    assert "AWSConfigurationTemplateVersion: 1.1.0.0" in text and "Name: Worker" in text and "FROM_CFG: 'yes'" in text
    assert "worker-cfg" in eb("config", "list").stdout.split()
    local.unlink()
    eb("config", "get", "worker-cfg")
    assert local.read_text() == text
    created = eb("create", f"{app}-worker2", "--cfg", "worker-cfg")
    assert f"Successfully launched environment: {app}-worker2" in created.stdout
    clone = environments(cloud, app)[f"{app}-worker2"]
    assert clone["Tier"]["Name"] == "Worker"
    assert settings(cloud, app, f"{app}-worker2")[("aws:elasticbeanstalk:application:environment",
                                                   "FROM_CFG")] == "yes"
    # `eb config put` uploads a file to where EB keeps saved configurations and has EB validate it.
    assert "aws:elasticbeanstalk:xray" not in text
    (local.parent / "typo.cfg.yml").write_text(text.replace("OptionSettings:\n", "OptionSettings:\n"
                                                            "  aws:elasticbeanstalk:xray:\n    XRayEnabld: true\n", 1))
    put = eb("config", "put", "typo")
    assert "Invalid option specification (Namespace: 'aws:elasticbeanstalk:xray', OptionName: 'XRayEnabld'): " \
           "Unknown configuration setting." in put.stdout + put.stderr
    assert "typo" in eb("config", "list").stdout.split()
    eb("config", "delete", "typo")
    eb("config", "delete", "worker-cfg")
    assert "worker-cfg" not in eb("config", "list").stdout.split() and not local.exists()
    missing = eb("create", f"{app}-nocfg", "--cfg", "no-such-cfg", check=False)
    assert missing.returncode != 0
    assert f"No Configuration Template named '{app}/no-such-cfg' found." in missing.stdout + missing.stderr


def test_logs_tail_and_bundle(project, cloud, tmp_path):
    """`eb logs` asks the instances for their logs (RequestEnvironmentInfo), waits for EB's event, and prints
    what each instance uploaded (the files published for the environment, as `eb_tools local` publishes its
    processes' logs, on the first); `--all` downloads every instance's logs."""
    app, eb, work = project["app"], project["eb"], project["work"]
    stdout = tmp_path / "web.stdout.log"
    stdout.write_text("[INFO] Booting worker with pid: 4242\n")
    cloud.publish_instance_logs(f"{app}-web", {"/var/log/web.stdout.log": stdout}, "us-east-1")
    tail = eb("logs", f"{app}-web").stdout
    assert "Retrieving logs..." in tail and "/var/log/web.stdout.log" in tail and "/var/log/nginx/error.log" in tail
    assert "Booting worker with pid: 4242" in tail
    assert all(f"============= {i} ==============" in tail for i in instances(cloud, f"{app}-web"))
    everything = eb("logs", f"{app}-worker", "--all").stdout
    assert "Logs were saved to" in everything
    saved = sorted((work / ".elasticbeanstalk" / "logs" / "latest").glob("i-*/var/log/aws-sqsd/default.log"))
    assert saved  # a worker's instances have sqsd's log


def instances(cloud, env: str) -> list[str]:
    described = aws_client(cloud, "elasticbeanstalk").describe_environment_resources(EnvironmentName=env)
    return [i["Id"] for i in described["EnvironmentResources"]["Instances"]]


def test_open_prints_the_url(project, tmp_path):
    """`eb open` hands the environment's URL to the browser (BROWSER here: a script that writes it down)."""
    app, eb = project["app"], project["eb"]
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(0o755)
    project["env"]["BROWSER"] = str(browser)
    try:
        eb("open", f"{app}-web")
    finally:
        del project["env"]["BROWSER"]
    wait_until(lambda: opened.exists() and opened.read_text(), 10, "the browser to be called")
    cname = environments_cname(project, f"{app}-web")
    assert opened.read_text().strip() == f"http://{cname}"


def environments_cname(project, env: str) -> str:
    status = project["eb"]("status", env).stdout
    return next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.strip().startswith("CNAME:"))


def test_abort(project, cloud, eb_seconds):
    """`eb abort` stops a deployment in progress; EB reports the aborted deployment and the update's end."""
    app, eb, work = project["app"], project["eb"], project["work"]
    # Each step takes 3 s: the abort, a second eb process, must land while the deployment runs even when the
    # machine is busy (at 0.3 s a step, a slow start of eb under three test processes found it finished).
    eb_seconds(cloud, 3.0)
    (work / "wsgi.py").write_text("application = 'v-abort'\n")
    subprocess.run(["git", "commit", "-qam", "abort me"], cwd=work, env=project["env"], check=True)
    eb("deploy", f"{app}-web", "--label", "v-abort", "--nohang")
    aborted = eb("abort", f"{app}-web")
    assert f'Aborting update to environment "{app}-web".' in aborted.stdout
    wait_until(lambda: environments(cloud, app)[f"{app}-web"]["Status"] == "Ready", 60, "the abort to settle")
    events = eb("events", f"{app}-web").stdout
    assert "During an aborted deployment, some instances may have deployed the new application version." in events
    idle = eb("abort", f"{app}-web", check=False)
    assert idle.returncode != 0 and "Must be pending deployment." in idle.stdout + idle.stderr


def test_terminate_and_restore(project, cloud):
    """`eb terminate` of an ALB environment reads LoadBalancerIsShared; `eb restore ID` rebuilds it."""
    app, eb = project["app"], project["eb"]
    eb("create", f"{app}-temp", "--cname", f"{app}-temp", "--elb-type", "application")
    env_id = environments(cloud, app)[f"{app}-temp"]["EnvironmentId"]
    assert settings(cloud, app, f"{app}-temp")[("aws:elasticbeanstalk:environment", "LoadBalancerIsShared")] == "false"
    terminated = eb("terminate", f"{app}-temp", "--force")
    assert "terminateEnvironment completed successfully." in terminated.stdout
    assert f"{app}-temp" not in environments(cloud, app)
    restored = eb("restore", env_id)
    assert "restoreEnvironment is starting." in restored.stdout
    assert f"Successfully launched environment: {app}-temp" in restored.stdout
    back = environments(cloud, app)[f"{app}-temp"]
    assert (back["EnvironmentId"], back["Status"], back["CNAME"]) == (
        env_id, "Ready", f"{app}-temp.us-east-1.elasticbeanstalk.com")
    eb("terminate", f"{app}-temp", "--force")


def test_logs_from_cloudwatch_when_the_environment_streams_them(project, cloud, tmp_path):
    """`eb logs --cloudwatch-logs enable` sets StreamLogs; from then on `eb logs` reads CloudWatch Logs, where
    the environment's instances stream their files (a published file, here)."""
    app, eb = project["app"], project["eb"]
    enabled = eb("logs", f"{app}-worker", "--cloudwatch-logs", "enable")
    assert "Successfully deployed new configuration to environment." in enabled.stdout
    sqsd_log = tmp_path / "default.log"
    sqsd_log.write_text("message 7 delivered: 200\n")
    cloud.publish_instance_logs(f"{app}-worker", {"/var/log/aws-sqsd/default.log": sqsd_log}, "us-east-1")
    group = f"/aws/elasticbeanstalk/{app}-worker/var/log/aws-sqsd/default.log"
    logs = aws_client(cloud, "logs")

    def shipped() -> bool:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"] if logs.describe_log_groups(
            logGroupNamePrefix=group)["logGroups"] else []
        return any(logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
                   for s in streams)

    wait_until(shipped, 20, "the log line in CloudWatch Logs")
    shown = eb("logs", f"{app}-worker", "--log-group", "/var/log/aws-sqsd/default.log").stdout
    assert "message 7 delivered: 200" in shown
    eb("logs", f"{app}-worker", "--cloudwatch-logs", "disable")
