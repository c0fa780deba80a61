"""Run Command's AWS-RunShellScript executed for real: a process on the local instance, its status, exit code and
output reported as Systems Manager reports them.

moto stores a command and answers every invocation "Success" with no output at once. Here, as the SSM Agent
does: the agent picks the command up (only from then on does GetCommandInvocation know the invocation, else
InvocationDoesNotExist), writes the `commands` to _script.sh in the command's orchestration folder (its
working directory unless `workingDirectory` says otherwise) and runs it with sh as root, in the operating
system's environment, not the app's; the invocation goes Pending, InProgress, then Success (exit status 0),
Failed (any other, its ResponseCode the status and "failed to run commands: exit status N" appended to
stderr, as the agent appends it: terratest's SSM tests read exactly that) or TimedOut past
`executionTimeout` (its process group killed). StandardOutputContent holds the first 24,000 characters of
stdout and StandardErrorContent the first 8,000 of stderr, both empty until the invocation ends (botocore's
SSM model documents both limits and the emptiness); ResponseCode is -1 until then.
"""
from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eb_tools.cloud.instances import processes
from eb_tools.errors import CloudError

if TYPE_CHECKING:
    from eb_tools.cloud.instances.hosting import Hosting

DOCUMENT = "AWS-RunShellScript"
PLUGIN = "aws:runShellScript"  # the document's one step
STDOUT_LIMIT, STDERR_LIMIT = 24_000, 8_000
DEFAULT_TIMEOUT, MAX_TIMEOUT = 3600, 172_800  # executionTimeout, seconds (the document's default and maximum)
TERMINAL = ("Success", "Failed", "TimedOut")


@dataclass(frozen=True)
class Script:
    commands: str  # the document's `commands`, one line each
    working_directory: str | None
    timeout: int


@dataclass
class Invocation:
    command_id: str
    instance_id: str
    comment: str
    requested: datetime
    status: str = "Pending"
    details: str = "Pending"
    code: int = -1
    started: datetime | None = None
    ended: datetime | None = None
    stdout: str = ""
    stderr: str = ""
    registered: bool = False  # the agent has picked it up

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def describe(self, document: str) -> dict[str, Any]:
        """GetCommandInvocation's answer."""
        return {"CommandId": self.command_id, "InstanceId": self.instance_id, "Comment": self.comment,
                "DocumentName": document, "DocumentVersion": "$DEFAULT", "PluginName": PLUGIN,
                "ResponseCode": self.code, "ExecutionStartDateTime": _iso(self.started),
                "ExecutionElapsedTime": self._elapsed(), "ExecutionEndDateTime": _iso(self.ended),
                "Status": self.status, "StatusDetails": self.details,
                "StandardOutputContent": self.stdout[:STDOUT_LIMIT] if self.done else "", "StandardOutputUrl": "",
                "StandardErrorContent": self.stderr[:STDERR_LIMIT] if self.done else "", "StandardErrorUrl": "",
                "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False}}

    def listed(self, document: str, details: bool) -> dict[str, Any]:
        """An entry of ListCommandInvocations, with its plugin's result when `details`."""
        entry: dict[str, Any] = {"CommandId": self.command_id, "InstanceId": self.instance_id, "InstanceName": "",
                                 "Comment": self.comment, "DocumentName": document, "DocumentVersion": "$DEFAULT",
                                 "RequestedDateTime": self.requested, "Status": self.status,
                                 "StatusDetails": self.details, "TraceOutput": "", "StandardOutputUrl": "",
                                 "StandardErrorUrl": "", "CommandPlugins": []}
        if details:
            entry["CommandPlugins"] = [{
                "Name": PLUGIN, "Status": self.status, "StatusDetails": self.details, "ResponseCode": self.code,
                **({"ResponseStartDateTime": self.started} if self.started else {}),
                **({"ResponseFinishDateTime": self.ended} if self.ended else {}),
                "Output": self.stdout[:STDOUT_LIMIT] if self.done else "", "StandardOutputUrl": "",
                "StandardErrorUrl": "", "OutputS3BucketName": "", "OutputS3KeyPrefix": ""}]
        return entry

    def _elapsed(self) -> str:
        if self.started is None:
            return ""
        seconds = ((self.ended or _now()) - self.started).total_seconds()
        return f"PT{seconds:.3f}S"


@dataclass
class _Sent:
    document: str
    invocations: list[Invocation] = field(default_factory=list)


_COMMANDS: dict[str, _Sent] = {}  # command id -> what was sent where (command ids are UUIDs: unique anywhere)
_LOCK = threading.Lock()


def send(hosting: Hosting, command_id: str, instance_ids: list[str], script: Script, comment: str) -> None:
    """Deliver the command to each instance; returns at once, each invocation runs on a thread of its own."""
    sent = _Sent(DOCUMENT, [Invocation(command_id, i, comment, _now()) for i in instance_ids])
    with _LOCK:
        _COMMANDS[command_id] = sent
    for invocation in sent.invocations:
        threading.Thread(target=_run, args=(hosting, invocation, script), name=f"ssm-{command_id[:8]}",
                         daemon=True).start()


def invocations(command_id: str) -> list[Invocation] | None:
    """The invocations the agents have picked up, or None for a command this module never ran."""
    with _LOCK:
        sent = _COMMANDS.get(command_id)
        return None if sent is None else [i for i in sent.invocations if i.registered]


def summary(command_id: str) -> dict[str, Any] | None:
    """The command's Status, StatusDetails and counts from its invocations (ListCommands' fields)."""
    with _LOCK:
        sent = _COMMANDS.get(command_id)
        if sent is None:
            return None
        states = [i.status for i in sent.invocations]
    errors = sum(s in ("Failed", "TimedOut") for s in states)
    if not all(s in TERMINAL for s in states):
        status = "InProgress" if any(s != "Pending" for s in states) else "Pending"
    else:
        status = "Success" if not errors else ("TimedOut" if "TimedOut" in states else "Failed")
    return {"Status": status, "StatusDetails": status, "CompletedCount": sum(s in TERMINAL for s in states),
            "ErrorCount": errors, "TargetCount": len(states)}


def _run(hosting: Hosting, invocation: Invocation, script: Script) -> None:
    folder = hosting.instance_folder(invocation.instance_id) / "ssm" / "orchestration" / invocation.command_id / \
        "awsrunShellScript" / "0.awsrunShellScript"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_script.sh").write_text(script.commands)
    with _LOCK:
        invocation.registered, invocation.status, invocation.details = True, "InProgress", "InProgress"
        invocation.started = _now()
    with (folder / "stdout").open("w+b") as out, (folder / "stderr").open("w+b") as err:
        try:
            process = hosting.spawn(invocation.instance_id, ["/bin/sh", str(folder / "_script.sh")],
                                    script.working_directory or str(folder), (subprocess.DEVNULL, out, err))
        except CloudError as error:  # the instance stopped meanwhile
            err.write(f"{error}\n".encode())
            _finish(invocation, folder, 1)
            return
        try:
            status: int | None = process.wait(timeout=script.timeout)
        except subprocess.TimeoutExpired:
            processes.stop(process, timeout=5)
            status = None
    _finish(invocation, folder, status)


def _finish(invocation: Invocation, folder: Path, status: int | None) -> None:
    """The invocation's end: `status` its exit status, None when it ran past its timeout."""
    stdout = (folder / "stdout").read_text(errors="replace")
    stderr = (folder / "stderr").read_text(errors="replace")
    if status:
        stderr += f"failed to run commands: exit status {status}\n"
    with _LOCK:
        invocation.stdout, invocation.stderr, invocation.ended = stdout, stderr, _now()
        if status is None:
            invocation.status, invocation.details = "TimedOut", "ExecutionTimedOut"
        else:
            invocation.code = status
            invocation.status = invocation.details = "Success" if status == 0 else "Failed"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z") if when else ""
