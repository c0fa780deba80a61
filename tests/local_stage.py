"""Helpers for tests that run `eb_tools local` itself: wait for it to answer, read its stage's outputs."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pymysql
import requests

from eb_tools.aws import wait_until
from eb_tools.local import overrides
from eb_tools.names import environment_names, stage_stack_name
from eb_tools.stage import desired
from eb_tools.stage_file import load
from tests.cloud_clients import local_client
from tests.servers import descendants, parents

ROOT = Path(__file__).resolve().parent.parent


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    def answers() -> bool:
        assert proc.poll() is None, f"eb_tools local exited with {proc.returncode}"
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(answers, timeout, f"{url} answering 200")


def wait_started(proc: subprocess.Popen, timeout: float = 120) -> str:
    """Read `eb_tools local`'s output (a text pipe) until its last start-up line, "web app:": the stage is
    provisioned, its objects restored and its version deployed. Returns what was read, for the test to print."""
    read: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise AssertionError(f"eb_tools local exited with {proc.wait()}:\n" + "".join(read))
        read.append(line)
        if line.startswith("web app:"):
            return "".join(read)
    raise AssertionError("eb_tools local did not finish starting:\n" + "".join(read))


def stage_outputs(cloud: str) -> dict[str, str]:
    """The local stage stack's outputs, which name its buckets and queues."""
    stack = local_client("cloudformation", cloud).describe_stacks(StackName=stage_stack_name("oppima", "local"))
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}


def tier_environments(parent: int) -> dict[str, dict[str, str]]:
    """{tier: environment} of a gunicorn master of each tier `eb_tools local` (process `parent`) started, read
    from /proc: what the processes really got."""
    found: dict[str, dict[str, str]] = {}
    for env in tier_masters(parent).values():
        found.setdefault(env["APP_ROLE"], env)
    return found


def tier_masters(parent: int) -> dict[int, dict[str, str]]:
    """{pid: environment} of every gunicorn master below process `parent` (its workers left out)."""
    masters: dict[int, dict[str, str]] = {}
    parent_of = parents()
    gunicorns = {pid for pid in descendants(parent) if b"gunicorn" in _read(pid, "cmdline")}
    for pid in gunicorns:
        if parent_of.get(pid) in gunicorns:
            continue
        raw = _read(pid, "environ").decode()
        env = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
        if "APP_ROLE" in env:
            masters[pid] = env
    return masters


def _read(pid: int, name: str) -> bytes:
    try:
        return (Path("/proc") / str(pid) / name).read_bytes()
    except OSError:
        return b""


def expected_environment(cloud: str, stage_name: str = "local") -> dict[str, dict[str, str]]:
    """{tier: {name: value}} of what each tier's EB environment gives its processes: its environment properties
    (provision's, which must all be there, and the bundle's .ebextensions') and its environmentsecrets' values
    (as the platform loads them)."""
    stage = load(ROOT / "eb_tools.yaml").stage(stage_name)
    outputs = stage_outputs(cloud)
    eb, secrets = local_client("elasticbeanstalk", cloud), local_client("secretsmanager", cloud)
    found = {}
    for tier, name in environment_names(stage.application, stage.name).items():
        settings = eb.describe_configuration_settings(ApplicationName=stage.application, EnvironmentName=name)
        effective = {(o["Namespace"], o["OptionName"]): o.get("Value", "")
                     for o in settings["ConfigurationSettings"][0]["OptionSettings"]}
        provisioned = {(namespace, option): value for namespace, option, value in
                       desired.desired_settings(stage, tier, outputs)
                       if namespace in (desired.PROPERTIES, desired.SECRETS)}
        assert provisioned.items() <= effective.items(), f"{name} lacks some of provision's properties"
        found[tier] = {option: value for (namespace, option), value in effective.items()
                       if namespace == desired.PROPERTIES}
        found[tier] |= {option: secrets.get_secret_value(SecretId=arn)["SecretString"]
                        for (namespace, option), arn in effective.items() if namespace == desired.SECRETS}
    return found


def undeclared(running: dict[str, str], expected: dict[str, str]) -> dict[str, str]:
    """What a process got that is neither its EB environment's, nor the operating system's share, nor a
    declared override, or that differs from its environment's value."""
    allowed = set(expected) | set(overrides.WHY) | set(overrides.PLATFORM)
    extra = {name: value for name, value in running.items() if name not in allowed}
    differing = {name: f"{running.get(name)!r} != {value!r}" for name, value in expected.items()
                 if running.get(name) != value and name not in overrides.WHY}
    return {**extra, **differing}


def stage_query(cloud: str, sql: str, *args: object, reader: bool = False) -> list[tuple]:
    """The rows of `sql` (with %s placeholders for `args`) from the stage's database (its writer, or its
    replica), connected as the apps connect: at the stack's endpoint, with the credentials' secret."""
    outputs = stage_outputs(cloud)
    credentials = json.loads(local_client("secretsmanager", cloud).get_secret_value(
        SecretId=outputs["DbSecretArn"])["SecretString"])
    host = outputs["DbReaderHost"] if reader else outputs["DbHost"]
    with pymysql.connect(host=host, port=int(outputs["DbPort"]), user=credentials["username"],
                         password=credentials["password"], database="app", connect_timeout=5,
                         autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def stage_rows(cloud: str, sql: str, reader: bool = False) -> list[object]:
    """The first column of `sql`'s rows (see stage_query)."""
    return [row[0] for row in stage_query(cloud, sql, reader=reader)]
