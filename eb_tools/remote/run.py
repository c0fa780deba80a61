"""`eb_tools run`: a one-off command on one instance of a tier, through Systems Manager's Run Command.

SendCommand with AWS-RunShellScript (the app's place first, app_shell.py), `executionTimeout` the command's
time, then GetCommandInvocation until the invocation ends: right after SendCommand the agent may not have
picked the command up yet (InvocationDoesNotExist: asked again), then it is Pending or InProgress. Whatever
output an answer carries is printed as it arrives; SSM itself hands the output over when the command ends, at
most the first 24,000 characters of stdout and 8,000 of stderr (botocore's SSM model), which the command's
outcome says when it is cut. The command's exit status (ResponseCode) is the verb's; 127 from a shell that
did not find the command is said so in one line. The agent's own last line of stderr ("failed to run
commands: exit status N") repeats the status and is left out.
"""
from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.errors import RemoteError
from eb_tools.remote import app_shell, nodes
from eb_tools.stage.target import StageTarget

DOCUMENT = "AWS-RunShellScript"
STDOUT_LIMIT, STDERR_LIMIT = 24_000, 8_000
ENDED = ("Success", "Failed", "TimedOut", "Cancelled")
DELIVERY_SECONDS = 60.0  # beyond the command's own time: for the agent to pick it up and report
PROGRESS_SECONDS = 10.0
AGENT_LINE = re.compile(r"failed to run commands: exit status -?\d+\n?$")
NOT_FOUND = 127  # what a POSIX shell exits with when it finds no such command

Echo = Callable[[str], None]


@dataclass
class Outcome:
    node: nodes.Node
    command: str
    command_id: str
    status: str
    details: str
    exit_code: int
    stdout: str
    stderr: str

    def notes(self) -> list[str]:
        """One line per thing the output does not show: a command the instance lacks, output SSM cut."""
        found = []
        name = _program(self.command)
        if self.exit_code == NOT_FOUND and name and re.search(rf"{re.escape(name)}: (command )?not found",
                                                              self.stderr):
            found.append(f"command not found on {self.node.instance_id}: {name}")
        for stream, text, limit in (("stdout", self.stdout, STDOUT_LIMIT), ("stderr", self.stderr, STDERR_LIMIT)):
            if len(text) >= limit:
                found.append(f"{stream} may be cut: Systems Manager returns at most its first {limit:,} "
                             "characters; write long output to a file or to S3")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.node.stage, "tier": self.node.tier, "environment": self.node.environment,
                "instance": self.node.instance_id, "command": self.command, "command_id": self.command_id,
                "status": self.status, "status_details": self.details, "exit_code": self.exit_code,
                "stdout": self.stdout, "stderr": self.stderr, "notes": self.notes()}


def run(where: StageTarget, tier: str, instance_id: str | None, argv: list[str], timeout: float, out: Echo,
        err: Echo, progress: Echo) -> Outcome:
    """Run `argv` (app_shell.command_line) on one instance of `tier`, printing its output with `out` and `err`
    as it arrives and a progress line while it runs; its outcome once it ended. RemoteError when it did not end
    (timed out, cancelled, undeliverable)."""
    node = nodes.choose(where, tier, instance_id)
    line = app_shell.command_line(argv)
    ssm = where.client("ssm")
    with where.naming_errors():
        sent = ssm.send_command(InstanceIds=[node.instance_id], DocumentName=DOCUMENT,
                                Comment=f"eb_tools run {where.name} --tier {tier}",
                                Parameters={"commands": app_shell.for_command(line),
                                            "executionTimeout": [str(int(timeout))]})
        command_id = str(sent["Command"]["CommandId"])
        answer = _follow(ssm, command_id, node, timeout, (out, err, progress))
    stderr = AGENT_LINE.sub("", answer["StandardErrorContent"])
    if answer["Status"] != "Success" and (answer["Status"] != "Failed" or answer["ResponseCode"] < 0):
        raise RemoteError(f"{node}: the command did not end ({answer['Status']}: {answer['StatusDetails']}"
                          f"{f', past its {timeout:g} s' if answer['Status'] == 'TimedOut' else ''}); "
                          f"SSM command {command_id}")
    return Outcome(node, line, command_id, answer["Status"], answer["StatusDetails"], int(answer["ResponseCode"]),
                   answer["StandardOutputContent"], stderr)


def _follow(ssm: Any, command_id: str, node: nodes.Node, timeout: float, echo: tuple[Echo, Echo, Echo]) -> Any:
    """GetCommandInvocation until the invocation ends, printing new output and, now and then, progress."""
    out, err, progress = echo
    started = shown = time.monotonic()
    printed = {"StandardOutputContent": 0, "StandardErrorContent": 0}

    def ended() -> Any:
        nonlocal shown
        try:
            answer = ssm.get_command_invocation(CommandId=command_id, InstanceId=node.instance_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "InvocationDoesNotExist":
                raise
            answer = {"Status": "Pending", "StandardOutputContent": "", "StandardErrorContent": ""}
        for key, echoed in (("StandardOutputContent", out), ("StandardErrorContent", err)):
            text = answer[key] if key == "StandardOutputContent" else AGENT_LINE.sub("", answer[key])
            if len(text) > printed[key]:
                echoed(text[printed[key]:])
                printed[key] = len(text)
        if answer["Status"] in ENDED:
            return answer
        if time.monotonic() - shown >= PROGRESS_SECONDS:
            shown = time.monotonic()
            progress(f"{node}: {answer['Status']} for {shown - started:.0f} s (Systems Manager hands the output "
                     "over when the command ends)")
        return None

    return wait_until(ended, timeout + DELIVERY_SECONDS, f"command {command_id} on {node}", interval=0.5)


def _program(line: str) -> str | None:
    """The program a command line starts with, as the shell would look it up."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    return words[0] if words else None
