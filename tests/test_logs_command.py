"""`eb_tools logs STAGE` against the local cloud: lines put with the CloudWatch Logs API into the groups EB's
instances stream to (a stream per instance, named by its id), read back interleaved, filtered and rendered; a
stage whose environments stream nothing gets one line saying how to turn it on."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from eb_tools.aws import wait_until
from eb_tools.cli import main
from eb_tools.cloud.server import LocalCloud
from eb_tools.names import environment_names
from tests.conftest import aws_client, eb_transition_seconds

ROOT = Path(__file__).resolve().parent.parent
STACK = "64bit Amazon Linux 2023 v4.6.0 running Python 3.11"
TIER = {"web": {"Name": "WebServer", "Type": "Standard"}, "worker": {"Name": "Worker", "Type": "SQS/HTTP"}}
STREAM_LOGS = {"Namespace": "aws:elasticbeanstalk:cloudwatch:logs", "OptionName": "StreamLogs", "Value": "true"}
FIRST, SECOND = "1-67891233-abcdef012345678912345678", "1-67891234-0123456789abcdef01234567"


@dataclass
class Stages:
    cloud: LocalCloud
    file: Path
    application: str
    now: int  # ms: the newest lines were put just before

    def eb_tools(self, *words: str) -> Result:
        return CliRunner().invoke(main, ["logs", *words, "--file", str(self.file)],
                                  env={"AWS_ENDPOINT_URL": self.cloud.url, "EB_TOOLS_POLL_SECONDS": "0.1"})

    def group(self, stage: str, tier: str) -> str:
        return f"/aws/elasticbeanstalk/{environment_names(self.application, stage)[tier]}/var/log/web.stdout.log"

    def put(self, stage: str, tier: str, instance: str, *lines: tuple[int, str]) -> None:
        logs = aws_client(self.cloud, "logs")
        group = self.group(stage, tier)
        if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=instance)["logStreams"]:
            logs.create_log_stream(logGroupName=group, logStreamName=instance)
        logs.put_log_events(logGroupName=group, logStreamName=instance,
                            logEvents=[{"timestamp": at, "message": message} for at, message in lines])


def app_line(at: int, tier: str, instance: str, message: str, shipped: int | None = None,
             **fields: Any) -> tuple[int, str]:
    """An app's JSON line written at `at` (ms), as its instance shipped it at `shipped` (default: at once)."""
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at / 1000)) + f".{at % 1000:03d}Z"
    return shipped or at, json.dumps({"time": when, "level": fields.pop("level", "INFO"), "logger": f"{tier}.app",
                           "message": message, "tier": tier, "instance": instance, **fields})


@pytest.fixture(scope="module")
def stages(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stages]:
    """Stage `on` streams its logs (both environments' StreamLogs true, lines in their groups); stage `off` has
    its environments and streams nothing (EB's default)."""
    application = f"logs{uuid.uuid4().hex[:6]}"  # moto is the process's: names of this module's own
    shipped = yaml.safe_load((ROOT / "eb_tools.yaml").read_text())
    local = {**shipped["stages"]["local"], "mail": {"from": f"no-reply@{application}.example.com"}}
    file = tmp_path_factory.mktemp("logs") / "eb_tools.yaml"
    file.write_text(yaml.safe_dump({**shipped, "application": application, "stages": {"on": local, "off": local}}))
    eb, logs = aws_client(cloud, "elasticbeanstalk"), aws_client(cloud, "logs")
    eb.create_application(ApplicationName=application)
    with eb_transition_seconds(cloud, 0.05):
        for stage in ("on", "off"):
            for tier, name in environment_names(application, stage).items():
                eb.create_environment(ApplicationName=application, EnvironmentName=name, SolutionStackName=STACK,
                                      Tier=TIER[tier], OptionSettings=[STREAM_LOGS] if stage == "on" else [])
        for name in [*environment_names(application, "on").values(), *environment_names(application, "off").values()]:
            wait_until(lambda n=name: eb.describe_environments(EnvironmentNames=[n])["Environments"][0]["Status"]
                       == "Ready", 10, f"{name} Ready")
    made = Stages(cloud, file, application, int(time.time() * 1000) - 10_000)
    for tier in ("web", "worker"):
        logs.create_log_group(logGroupName=made.group("on", tier))
    t = made.now - 5000
    made.put("on", "web", "i-web1",
             app_line(t - 3 * 3600_000, "web", "i-web1", "an old line"),
             app_line(t, "web", "i-web1", "queued email.send", request_id=FIRST, trace_id=FIRST, queued_key="k1"),
             app_line(t + 2000, "web", "i-web1", f"upload 9 completed, not trace {FIRST}", trace_id=SECOND))
    made.put("on", "web", "i-web2", (t + 500, "[2026-11-25 01:02:03 +0000] [42] [INFO] Booting worker with pid: 42"),
             app_line(t + 2500, "web", "i-web2", "unhandled error on POST /uploads", level="ERROR", trace_id=SECOND,
                      exception="Traceback (most recent call last):\nValueError: bad"))
    shipped, line = app_line(t + 1000, "worker", "i-wrk1", "email.send done", shipped=t + 3000, request_id="m-1",
                             trace_id=FIRST, task="email.send", idempotency_key="k1")
    made.put("on", "worker", "i-wrk1", (shipped, f"Dec  7 23:16:26 ip-10-0-2-7 web: {line}"))  # rsyslog's, on AL2
    yield made


def test_both_tiers_interleaved_by_time_each_line_prefixed_by_tier_and_instance(stages):
    """By the time each line was written: the worker's line, shipped in a later batch, takes its place; its JSON is
    read after the prefix the platform's rsyslog writes on Amazon Linux 2."""
    shown = stages.eb_tools("on")
    assert shown.exit_code == 0, shown.output
    rows = shown.output.splitlines()
    assert [row.split("] ", 1)[0].split(" [")[1] for row in rows if " [" in row and not row.startswith(" ")] == [
        "web i-web1", "web i-web2", "worker i-wrk1", "web i-web1", "web i-web2"]
    assert rows[0].endswith(f"INFO [web i-web1] queued email.send logger=web.app request_id={FIRST} "
                            f"trace_id={FIRST} queued_key=k1")
    assert rows[1].endswith("[web i-web2] [2026-11-25 01:02:03 +0000] [42] [INFO] Booting worker with pid: 42")
    assert rows[2].endswith("[worker i-wrk1] email.send done logger=worker.app request_id=m-1 "
                            f"trace_id={FIRST} task=email.send idempotency_key=k1")
    assert rows[-2:] == ["    Traceback (most recent call last):", "    ValueError: bad"]  # under its line
    assert "an old line" not in shown.output  # three hours ago, past --since's 1h
    assert "an old line" in stages.eb_tools("on", "--since", "4h").output


def test_one_trace_across_both_tiers_by_the_json_field(stages):
    traced = stages.eb_tools("on", "--trace", FIRST)
    assert traced.exit_code == 0, traced.output
    assert [row.split("] ", 1)[1].split(" logger=")[0] for row in traced.output.splitlines()] == [
        "queued email.send", "email.send done"]  # not the line that merely mentions it


def test_grep_tier_and_json_output(stages):
    assert "Booting worker" in stages.eb_tools("on", "--grep", "Booting worker").output
    assert len(stages.eb_tools("on", "--grep", "Booting worker").output.splitlines()) == 1
    assert stages.eb_tools("on", "--grep", "booting").output == ""  # case sensitive, as CloudWatch's terms
    assert stages.eb_tools("on", "--grep", 'not trace "').output == ""  # a quote: filtered here, not by a pattern
    worker = stages.eb_tools("on", "--tier", "worker", "--output", "json")
    (line,) = json.loads(worker.output)
    assert {k: line[k] for k in ("tier", "instance")} == {"tier": "worker", "instance": "i-wrk1"}
    assert line["line"]["task"] == "email.send" and line["line"]["trace_id"] == FIRST  # the app's object as logged
    both = json.loads(stages.eb_tools("on", "--output", "json").output)
    assert both[1]["line"] == "[2026-11-25 01:02:03 +0000] [42] [INFO] Booting worker with pid: 42"  # as it is


def test_a_stage_that_streams_no_logs_gets_one_line_saying_how_to_turn_it_on(stages):
    refused = stages.eb_tools("off")
    names = environment_names(stages.application, "off")
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1, refused.output
    assert f"{names['web']} and {names['worker']} stream no logs to CloudWatch Logs" in refused.output
    assert "StreamLogs: true" in refused.output and "eb logs --cloudwatch-logs enable" in refused.output


@pytest.mark.parametrize(("words", "said"), [
    (["--tier", "db"], "--tier db: give web or worker"), (["--since", "5y"], "--since 5y: give a number and a unit"),
    (["--since", "0m"], "--since 0m"), (["--since", "4000d"], "at most 3653d"),
    (["--trace", 'x" }'], "--trace x\" }: a trace id is letters"), (["--grep", ""], "--grep: give the text")])
def test_bad_input_is_one_line(stages, words, said):
    refused = stages.eb_tools("on", *words)
    (line,) = refused.output.strip().splitlines()
    assert refused.exit_code == 1 and line.startswith("Error: ") and said in line


def test_the_local_clouds_filter_log_events_applies_patterns_as_cloudwatch(stages):
    """moto matched every event to a JSON pattern; the local cloud applies it, and refuses a malformed one."""
    logs, group = aws_client(stages.cloud, "logs"), stages.group("on", "web")

    def messages(pattern: str) -> list[str]:
        return [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]]

    assert len(messages('{ $.level = "ERROR" || $.message = "queued*" }')) == 2
    assert len(messages('{ $.level != "ERROR" && $.trace_id = "1-*" }')) == 2  # a missing field matches nothing
    assert messages('{ $.pid = 42 }') == []  # the gunicorn line is no JSON object: no JSON pattern matches it
    assert len(messages("Booting -crashed")) == 1 and len(messages('?Booting ?"an old"')) == 2
    with pytest.raises(ClientError, match="must end with '}'"):
        messages('{ $.level = "ERROR"')
    with pytest.raises(ClientError, match="Invalid filter pattern"):
        messages("{ level = ERROR }")


def test_follow_shows_new_lines_until_ctrl_c_ends_it_cleanly(stages):
    env = {**os.environ, "AWS_ENDPOINT_URL": stages.cloud.url, "EB_TOOLS_POLL_SECONDS": "0.1"}
    follow = subprocess.Popen([str(Path(sys.executable).parent / "eb_tools"), "logs", "on", "--follow", "--tier",
                               "worker", "--output", "json", "--file", str(stages.file)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(follow.stdout.readline())["line"]["message"] == "email.send done"
        stages.put("on", "worker", "i-wrk2", app_line(int(time.time() * 1000), "worker", "i-wrk2", "later"))
        later = json.loads(follow.stdout.readline())
        assert (later["instance"], later["line"]["message"]) == ("i-wrk2", "later")
    finally:
        follow.send_signal(signal.SIGINT)
        out, err = follow.communicate(timeout=30)
    assert follow.returncode == 0 and err == "" and out == ""  # nothing shown twice, no traceback
