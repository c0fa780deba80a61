"""Enhanced health as EB derives it from the instances: statuses, their colors and the cause texts.

Colors (API reference, InstanceHealthSummary): Ok and Info are Green, Warning Yellow, Degraded and Severe Red,
Pending, Unknown and NoData Grey. An instance runs the expected version when its last deployment is the one
that last succeeded on the environment; the cause texts are EB's (developer guide,
environments-health-enhanced-notifications, and users' event logs), except where a comment says otherwise.
"""
from __future__ import annotations

from collections.abc import Sequence

COLORS = {"Ok": "Green", "Info": "Green", "Warning": "Yellow", "Degraded": "Red", "Severe": "Red",
          "Pending": "Grey", "Unknown": "Grey", "NoData": "Grey", "Suspended": "Grey"}
STATUSES = ["NoData", "Unknown", "Pending", "Ok", "Info", "Warning", "Degraded", "Severe"]  # InstancesHealth's keys
BAD = ("Warning", "Degraded", "Severe")  # a transition to one is a WARN event
# The emulation's own: EB's cause for an instance that failed its checks depends on what the checks saw.
FAILED_CHECKS = "Instance did not pass health check after command execution."
NOT_DEPLOYED = "No application version was deployed: the environment refused it."  # the emulation's own
DEPLOYING = "Performing application deployment."
BOOTING = "Performing initialization."
# An environment scaled to no instance: EB shows No Data, Grey (users' reports, e.g. backspace-academy/aws-nodejs-eb#10:
# "No Data" with the cause "No Instances"); the cause in EB's words for an environment without instances (developer
# guide, health-enhanced-status: "There are no instances. Auto Scaling group desired capacity is set to 1."), with the
# group's desired capacity. The pairing of the two is the emulation's.
NO_INSTANCES = "There are no instances. Auto Scaling group desired capacity is set to {desired}."
SHOWN = {"NoData": "No Data"}  # how a status reads in an event's text

Health = tuple[str, list[str]]  # a status and its causes


def expected(label: str | None, deployment: int | None) -> str:
    return f'Expected version "{label}" (deployment {deployment}).' if label and deployment else \
        "Expected version n/a."


def incorrect_version(label: str, deployment: int | None, expected_label: str | None,
                      expected_deployment: int | None) -> str:
    """An instance's cause: the version it runs is not the environment's."""
    return f'Incorrect application version "{label}" (deployment {deployment}). ' + \
        expected(expected_label, expected_deployment)


def _on(count: int, total: int) -> str:
    return "all instances" if count == total else f"{count} out of {total} instances"


def instance(health: str, causes: Sequence[str], label: str, deployment: int | None, expected_label: str | None,
             expected_deployment: int | None, settled: bool) -> Health:
    """An instance's health: as it stands while an operation runs on the environment; once it is settled,
    Degraded (Severe if it failed its checks) when its deployment is not the environment's last good one."""
    if settled and health not in ("Pending", "Info") and deployment != expected_deployment:
        return ("Severe" if health == "Severe" else "Degraded"), \
            [incorrect_version(label, deployment, expected_label, expected_deployment)]
    return health, list(causes)


def environment(status: str, activity: str | None, running_for: int, instances: Sequence[Health], wrong: int,
                expected_label: str | None, expected_deployment: int | None, desired: int | None = None) -> Health:
    """The environment's health from its `instances` (`wrong` of them not on the expected version), or
    from the `activity` in progress ("Application update", "Configuration update", "Terminate"); `desired`:
    the Auto Scaling group's desired capacity when a scheduled action set it."""
    if status == "Terminated":
        return "Unknown", []
    if status == "Launching":
        return "Pending", []
    if activity:
        return "Info", [f"{activity} in progress (running for {running_for} seconds)."]
    total = len(instances)
    if not total:
        return "NoData", [NO_INSTANCES.format(desired=desired or 0)]
    if all(status_ == "Pending" for status_, _ in instances):  # every one booting (a scheduled scale-out)
        return "Pending", []
    if wrong:
        return ("Severe" if wrong == total else "Degraded"), \
            [f"Incorrect application version found on {_on(wrong, total)}. "
             f"{expected(expected_label, expected_deployment)}"]
    impaired = sum(1 for status_, _ in instances if status_ in ("Degraded", "Severe"))
    if impaired:  # the developer guide's example: one Severe instance of five makes the environment Warning
        return ("Severe" if impaired == total else "Warning"), [f"Impaired services on {_on(impaired, total)}."]
    return "Ok", []


def transition(before: str, after: str, causes: Sequence[str]) -> str:
    """The event EB logs when the environment's health changes."""
    return " ".join([f"Environment health has transitioned from {SHOWN.get(before, before)} to "
                     f"{SHOWN.get(after, after)}.", *causes])
