"""The local cloud's Systems Manager against a real instance (eb_tools/cloud/ssm): Run Command's
AWS-RunShellScript runs on it as the SSM Agent runs it and reports as SSM does, the instances whose profile
lets the agent register are the managed nodes, and a session is a shell under a terminal on the instance.

One hosted cloud for the module, with one worker environment of one instance running a small bundle.
"""
from __future__ import annotations

import io
import json
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.cloud.instances.hosting import Hosting
from eb_tools.cloud.server import LocalCloud
from eb_tools.errors import RemoteError
from eb_tools.local import overrides
from eb_tools.names import environment_name
from eb_tools.remote import shell, stream
from eb_tools.stage.target import StageTarget, resolve
from tests.conftest import aws_client
from tests.test_instances import small_bundle

STACK = "64bit Amazon Linux 2023 v4.6.0 running Python 3.11"
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
APP = f"ssm-{uuid.uuid4().hex[:6]}"
ROLE = f"{APP}-role"
WORKER = environment_name(APP, "ops", "worker")  # the worker environment of the stage "ops" of STAGE_FILE
STAGE_FILE = f"""
application: {APP}
region: us-east-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  ops:
    isolation: ops
    web: {{instance_type: t3.small, min: 1, max: 1}}
    worker: {{instance_type: t3.small, min: 1, max: 1}}
    plain_http: true
    mail: {{from: no-reply@ops.example.com}}
    alarm_email: ops@example.com
"""


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCloud, str]]:
    """A cloud running one worker instance whose profile carries AmazonSSMManagedInstanceCore: (cloud, its id)."""
    hosting = Hosting(tmp_path_factory.mktemp("ssm") / "instances", lambda env, variables: overrides.platform())
    cloud = LocalCloud(eb_transition_seconds=0.05, hosting=hosting).start()
    try:
        iam, eb, s3 = aws_client(cloud, "iam"), aws_client(cloud, "elasticbeanstalk"), aws_client(cloud, "s3")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        iam.attach_role_policy(RoleName=ROLE, PolicyArn=SSM_POLICY)
        iam.create_instance_profile(InstanceProfileName=ROLE)
        iam.add_role_to_instance_profile(InstanceProfileName=ROLE, RoleName=ROLE)
        eb.create_application(ApplicationName=APP)
        bucket = eb.create_storage_location()["S3Bucket"]
        s3.put_object(Bucket=bucket, Key=f"{APP}/v1.zip", Body=small_bundle())
        eb.create_application_version(ApplicationName=APP, VersionLabel="v1",
                                      SourceBundle={"S3Bucket": bucket, "S3Key": f"{APP}/v1.zip"})
        eb.create_environment(ApplicationName=APP, EnvironmentName=WORKER, SolutionStackName=STACK,
                              VersionLabel="v1", Tier={"Name": "Worker", "Type": "SQS/HTTP"}, OptionSettings=[
                                  {"Namespace": "aws:autoscaling:launchconfiguration",
                                   "OptionName": "IamInstanceProfile", "Value": ROLE},
                                  {"Namespace": "aws:elasticbeanstalk:application:environment",
                                   "OptionName": "GREETING", "Value": "hello from the app"}])

        def green() -> str | None:
            env = eb.describe_environments(EnvironmentNames=[WORKER])["Environments"][0]
            resources = eb.describe_environment_resources(EnvironmentName=WORKER)["EnvironmentResources"]
            return resources["Instances"][0]["Id"] if (env["Status"], env["Health"]) == ("Ready", "Green") else None

        yield cloud, wait_until(green, 120, "the worker environment Ready and Green")
    finally:
        cloud.stop()


@pytest.fixture(scope="module")
def ssm(hosted: tuple[LocalCloud, str]) -> Any:
    return aws_client(hosted[0], "ssm")


def finished(ssm: Any, command_id: str, instance: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        answer = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)
        return answer if answer["Status"] in ("Success", "Failed", "TimedOut") else None

    return wait_until(done, timeout, f"command {command_id} to end")


def send(ssm: Any, instance: str, *commands: str, **parameters: list[str]) -> str:
    return str(ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                                Parameters={"commands": list(commands), **parameters})["Command"]["CommandId"])


def refusal(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    error = refused.value.response["Error"]
    return error["Code"], error["Message"]


def test_the_running_instance_is_a_managed_node_online(hosted, ssm):
    _, instance = hosted
    [node] = ssm.describe_instance_information()["InstanceInformationList"]
    assert (node["InstanceId"], node["PingStatus"], node["PlatformType"], node["ResourceType"], node["IamRole"]) \
        == (instance, "Online", "Linux", "EC2Instance", ROLE)
    only = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": ["i-0000"]}])
    assert only["InstanceInformationList"] == []
    assert refusal(ssm.describe_instance_information, Filters=[{"Key": "tag:Name", "Values": ["x"]}])[0] \
        == "InvalidFilterKey"


def test_a_command_runs_on_the_instance_as_the_agent_runs_it(hosted, ssm):
    _, instance = hosted
    command_id = send(ssm, instance, "pwd", 'echo "greeting in the agent\'s environment: [$GREETING]"',
                      "/opt/elasticbeanstalk/bin/get-config environment -k GREETING; echo",
                      "ls /var/app/current/app.py", "echo to stderr >&2")
    # An invocation exists only for an instance the command was sent to.
    assert refusal(ssm.get_command_invocation, CommandId=command_id, InstanceId="i-other")[0] \
        == "InvocationDoesNotExist"
    answer = finished(ssm, command_id, instance)
    assert (answer["Status"], answer["StatusDetails"], answer["ResponseCode"], answer["PluginName"]) == \
        ("Success", "Success", 0, "aws:runShellScript")
    cwd, greeting, configured, app = answer["StandardOutputContent"].splitlines()
    assert cwd.endswith(f"/ssm/orchestration/{command_id}/awsrunShellScript/0.awsrunShellScript")
    assert greeting == "greeting in the agent's environment: []"  # root's environment, not the app's
    assert (configured, app) == ("hello from the app", "/var/app/current/app.py")  # the instance's paths
    assert answer["StandardErrorContent"] == "to stderr\n"
    [listed] = ssm.list_commands(CommandId=command_id)["Commands"]
    assert (listed["Status"], listed["CompletedCount"], listed["ErrorCount"]) == ("Success", 1, 0)
    [invocation] = ssm.list_command_invocations(CommandId=command_id, Details=True)["CommandInvocations"]
    [plugin] = invocation["CommandPlugins"]
    assert (invocation["InstanceId"], plugin["Name"], plugin["ResponseCode"]) == (instance, "aws:runShellScript", 0)
    assert plugin["Output"] == answer["StandardOutputContent"]


def test_a_failing_command_reports_its_status_and_the_first_24000_characters(hosted, ssm):
    _, instance = hosted
    failed = finished(ssm, send(ssm, instance, "head -c 30000 /dev/zero | tr '\\0' x", "exit 3"), instance)
    assert (failed["Status"], failed["StatusDetails"], failed["ResponseCode"]) == ("Failed", "Failed", 3)
    assert failed["StandardOutputContent"] == "x" * 24000
    assert failed["StandardErrorContent"] == "failed to run commands: exit status 3\n"  # the agent's own line
    missing = finished(ssm, send(ssm, instance, "a-command-nobody-installed --now"), instance)
    assert missing["ResponseCode"] == 127 and "a-command-nobody-installed: not found" in missing["StandardErrorContent"]


def test_a_command_is_in_progress_then_timed_out(hosted, ssm):
    _, instance = hosted
    command_id = send(ssm, instance, "echo started", "sleep 30", executionTimeout=["1"])
    running = wait_until(lambda: _invocation(ssm, command_id, instance), 10, "the agent to pick the command up")
    assert (running["Status"], running["ResponseCode"], running["StandardOutputContent"]) == ("InProgress", -1, "")
    started = time.monotonic()
    timed_out = finished(ssm, command_id, instance)
    assert (timed_out["Status"], timed_out["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")
    assert time.monotonic() - started < 5


def _invocation(ssm: Any, command_id: str, instance: str) -> dict[str, Any] | None:
    try:
        return dict(ssm.get_command_invocation(CommandId=command_id, InstanceId=instance))
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvocationDoesNotExist":  # not picked up yet
            return None
        raise


def test_what_ssm_refuses(hosted, ssm):
    cloud, instance = hosted
    code, message = refusal(ssm.send_command, InstanceIds=["i-0123456789abcdef0"],
                            DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]})
    assert (code, message) == ("InvalidInstanceId", f"Instances [[i-0123456789abcdef0]] not in a valid state "
                                                    f"for account {cloud.account}")
    assert refusal(ssm.send_command, InstanceIds=[instance], DocumentName="AWS-RunPowerShellScript",
                   Parameters={"commands": ["true"]})[0] == "InvalidDocument"
    assert refusal(ssm.send_command, InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                   Parameters={"commands": ["true"], "executionTimeout": ["0"]})[0] == "InvalidParameters"
    assert refusal(ssm.start_session, Target="i-0123456789abcdef0") == (
        "TargetNotConnected", "i-0123456789abcdef0 is not connected.")


def test_without_the_agent_s_permission_the_instance_is_no_managed_node(hosted, ssm):
    cloud, instance = hosted
    iam = aws_client(cloud, "iam")
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=SSM_POLICY)
    try:
        assert ssm.describe_instance_information()["InstanceInformationList"] == []
        assert refusal(ssm.send_command, InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                       Parameters={"commands": ["true"]})[0] == "InvalidInstanceId"
        assert refusal(ssm.start_session, Target=instance)[0] == "TargetNotConnected"
    finally:
        iam.attach_role_policy(RoleName=ROLE, PolicyArn=SSM_POLICY)
    assert len(ssm.describe_instance_information()["InstanceInformationList"]) == 1


def test_a_session_is_a_shell_under_a_terminal_on_the_instance(hosted, ssm):
    _, instance = hosted
    session = ssm.start_session(Target=instance, DocumentName="AWS-StartInteractiveCommand",
                                Parameters={"command": ["cd /var/app/current && exec sh -i"]})
    url = urlsplit(session["StreamUrl"])
    assert url.scheme == "tcp" and url.path == f"/v1/data-channel/{session['SessionId']}"
    with socket.create_connection((url.hostname, url.port), timeout=10) as stream:
        hello = {"TokenValue": session["TokenValue"], "rows": 30, "cols": 100}
        stream.sendall(json.dumps(hello).encode() + b"\n" + b"pwd\nstty size\ntty\nexit\n")
        stream.shutdown(socket.SHUT_WR)
        output = _read_all(stream)
    assert "/var/app/current\r\n" in output and "30 100\r\n" in output and "/dev/pts/" in output
    assert ssm.terminate_session(SessionId=session["SessionId"])["SessionId"] == session["SessionId"]
    other = ssm.start_session(Target=instance)
    url = urlsplit(other["StreamUrl"])
    with socket.create_connection((url.hostname, url.port), timeout=10) as stream:
        stream.sendall(b'{"TokenValue": "not the token"}\n')
        assert "session refused" in _read_all(stream)


def _read_all(stream: socket.socket) -> str:
    chunks = []
    while chunk := stream.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def ops_stage(cloud: LocalCloud, folder: Path) -> StageTarget:
    """The stage whose worker environment the module's instance belongs to, as eb_tools resolves it."""
    (folder / "eb_tools.yaml").write_text(STAGE_FILE)
    return resolve(folder / "eb_tools.yaml", ["ops"], endpoint_url=cloud.url)[0]


def test_shell_hands_an_aws_session_to_the_plugin_as_the_aws_cli_does(hosted, tmp_path, monkeypatch):
    cloud, instance = hosted
    where, record, urls = ops_stage(cloud, tmp_path), tmp_path / "plugin.json", []
    plugin = tmp_path / "bin" / shell.PLUGIN
    plugin.parent.mkdir()
    plugin.write_text(f"#!{sys.executable}\nimport json, os, sys\nif sys.argv[1:] == ['--version']:\n"
                      "    print('1.2.707.0'); sys.exit(0)\n"
                      f"json.dump([sys.argv[1:], os.environ.get('{shell.RESPONSE_VARIABLE}')], open('{record}', 'w'))\n"
                      "sys.exit(7)\n")
    plugin.chmod(0o755)
    monkeypatch.setenv("PATH", f"{plugin.parent}:/usr/bin:/bin")
    # The local cloud answers a tcp:// stream; these sessions stand for AWS's, whose wss:// needs the plugin.
    monkeypatch.setattr(stream, "serves", lambda url: urls.append(url) and False)
    assert shell.open_shell(where, "worker", None, io.BytesIO(), io.BytesIO(), print) == 7  # the plugin's status
    argv, response = json.loads(record.read_text())
    request = {"Target": instance, "DocumentName": "AWS-StartInteractiveCommand", "Reason": "eb_tools shell ops",
               "Parameters": {"command": [shell.app_shell.for_session()]}}
    assert argv == [shell.RESPONSE_VARIABLE, "us-east-1", "StartSession", "", json.dumps(request), cloud.url]
    assert set(json.loads(response)) == {"SessionId", "TokenValue", "StreamUrl"}  # the token in no argument
    old, _ = shell.plugin_command("smp", "1.2.497.0", json.loads(response), request, "us-east-1", None, cloud.url)
    assert json.loads(old[1]) == json.loads(response)  # an older plugin reads it from its arguments

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(RemoteError, match=f"needs AWS's session-manager-plugin, which is not installed here: "
                                          f"install it as {shell.INSTALL} says"):
        shell.open_shell(where, "worker", None, io.BytesIO(), io.BytesIO(), print)
    url = urlsplit(urls[-1])
    with pytest.raises(ConnectionRefusedError):  # the session was terminated, not left waiting on the agent
        socket.create_connection((url.hostname, url.port), timeout=5)
