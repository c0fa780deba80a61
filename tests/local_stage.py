"""Helpers for tests that run `eb_tools local` itself: wait for it to answer, read its stage's outputs."""
from __future__ import annotations

import subprocess

import requests

from eb_tools.aws import wait_until
from eb_tools.provision.templates import stage_stack_name
from tests.cloud_clients import local_client


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    def answers() -> bool:
        assert proc.poll() is None, f"eb_tools local exited with {proc.returncode}"
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(answers, timeout, f"{url} answering 200")


def stage_outputs(cloud: str) -> dict[str, str]:
    """The local stage stack's outputs, which name its buckets and queues."""
    stack = local_client("cloudformation", cloud).describe_stacks(StackName=stage_stack_name("oppima", "local"))
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
