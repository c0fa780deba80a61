"""What the e2e tests do to the running local stage and read of it: its web instances' gunicorn masters, the
version it serves, a logged-in page watched while something happens, and each environment's deployment
policy chosen as a stage file would."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import requests

from eb_tools.aws import wait_until
from tests.e2e.conftest import LocalRun


def web_masters(local_run: LocalRun) -> list[int]:
    """The gunicorn masters of the web instances, from /proc."""
    return sorted(pid for pid, env in local_run.gunicorn_masters().items() if env.get("APP_ROLE") == "web")


def served_version(local_run: LocalRun) -> str:
    return str(requests.get(f"{local_run.base}/healthz", timeout=5).json()["version"])


@contextlib.contextmanager
def watching(local_run: LocalRun, cookies: list[dict[str, Any]]) -> Iterator[list[int]]:
    """The status of a logged-in GET of the uploads page every 0.2 s while the block runs."""
    answers: list[int] = []
    done = threading.Event()
    session = requests.Session()
    for cookie in cookies:
        session.cookies.set(cookie["name"], cookie["value"])

    def watch() -> None:
        while not done.wait(0.2):
            try:
                answers.append(session.get(f"{local_run.base}/uploads", timeout=10, allow_redirects=False).status_code)
            except requests.RequestException:
                answers.append(0)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield answers
    finally:
        done.set()
        thread.join(timeout=15)


def web_instance_ids(eb: Any) -> set[str]:
    listed = eb.describe_instances_health(EnvironmentName="oppima-local-web", AttributeNames=["All"])
    return {i["InstanceId"] for i in listed["InstanceHealthList"]}


def choose_policies(eb: Any, policies: dict[str, str]) -> None:
    """Set each environment's deployment policy, as a stage file's deployment: and provision would, and wait."""
    for name, policy in policies.items():
        eb.update_environment(ApplicationName="oppima", EnvironmentName=name, OptionSettings=[
            {"Namespace": "aws:elasticbeanstalk:command", "OptionName": "DeploymentPolicy", "Value": policy}])
    wait_until(lambda: all(e["Status"] == "Ready" for e in eb.describe_environments(
        ApplicationName="oppima", EnvironmentNames=list(policies))["Environments"]), 60, "the policies applied", 0.2)
