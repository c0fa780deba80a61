"""What a deployment to one instance reports while it runs and when it ends, for the EB emulation's steps to
poll: a Job, its Failure (EB's words for it), and an instance's Health."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

# EB's events for an instance whose deployment command failed (users' event logs: onnela-lab/beiwe-backend#381,
# BishopFox/dufflebag#4); the environment-level ones ("Command execution completed on all instances. Summary:
# …", "Unsuccessful command execution on instance id(s) '…'. Aborting the operation.", "Failed to deploy
# application.") are the emulation's steps' to add.
DEPENDENCIES_FAILED = "Instance deployment failed to install application dependencies. The deployment failed."
DEPLOYMENT_FAILED = "Instance deployment failed. For details, see 'eb-engine.log'."
COMMAND_FAILED = "[Instance: {id}] Command failed on instance. Return code: 1 Output: Engine execution has " \
                 "encountered an error.."


@dataclass(frozen=True)
class Failure:
    """Why a deployment to an instance failed."""

    instruction: str  # the platform engine's instruction that failed (eb-engine.log), or HEALTH_CHECK
    reason: str  # one line: eb-engine.log's [ERROR] line, or why the instance failed its health check
    detail: str  # one line: the cause itself (which command or hook, its status and last line of output)
    output: str  # the tail of the failed step's output (and of web.stdout.log when the app exited)
    events: tuple[tuple[str, str], ...] = ()  # (severity, message): what EB adds to the environment's events
    health_check: bool = False  # the instance took the version and then failed its health check

    @classmethod
    def command(cls, instance_id: str, instruction: str, reason: str, output: str, detail: str,
                dependencies: bool = False) -> Failure:
        """A failure of the deployment command on the instance, with EB's events for it."""
        events = ((("ERROR", DEPENDENCIES_FAILED),) if dependencies else ()) + (
            ("ERROR", DEPLOYMENT_FAILED), ("ERROR", COMMAND_FAILED.format(id=instance_id)))
        return cls(instruction, reason, detail, output, events)


HEALTH_CHECK = "HealthCheck"  # Failure.instruction of an instance that took the version and failed /healthz
CANCELLED = "Cancelled"  # Failure.instruction of a deployment that stop() ended


@dataclass
class Job:
    """One deployment to one instance, running in the background: poll `done`, then read `failure`."""

    instance_id: str
    label: str
    failure: Failure | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per instruction, and "total"
    venv_reused: bool | None = None  # whether the requirements' virtualenv was there already
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def healthy(self) -> bool:
        """Ended with the version running and answering its health check."""
        return self.done and self.failure is None

    @property
    def state(self) -> str:
        return "running" if not self.done else "failed" if self.failure else "healthy"

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the job ended within `timeout` seconds."""
        return self._finished.wait(timeout)

    def finish(self, failure: Failure | None) -> None:
        self.failure = failure
        self._finished.set()


@dataclass(frozen=True)
class Health:
    """An instance's health from its processes and its /healthz, as EB's health agent and the load balancer see
    it."""

    state: str  # "ok", "deploying", "exited" (a process died), "unanswered" (/healthz not 200), "stopped"
    detail: str  # one line
    label: str | None = None  # the version its /healthz names

    @property
    def ok(self) -> bool:
        return self.state == "ok"
