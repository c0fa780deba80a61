"""Systems Manager's Run Command and Session Manager operations, installed on moto's SSM.

moto keeps SendCommand's record (its id, parameters and ListCommands) and nothing else true of it: this
module checks the document, its parameters and the targets as SSM does, then runs the command (commands.py),
and answers GetCommandInvocation and ListCommandInvocations from what ran and the command's status from its
invocations; DescribeInstanceInformation lists the managed nodes (nodes.py), and StartSession and
TerminateSession, which moto lacks, run sessions (sessions.py). Error codes are the SSM model's (botocore's
service-2.json lists each operation's); the texts are users' reports of AWS's where they are known
("Instances [[i-…]] not in a valid state for account …", "i-… is not connected.").
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eb_tools.cloud.elasticbeanstalk import emulation_settings
from eb_tools.cloud.moto_internals import (
    ActionResult,
    ServiceException,
    SimpleSystemManagerBackend,
    SimpleSystemManagerResponse,
    SSMCommand,
    add,
    once,
    replace,
)
from eb_tools.cloud.ssm import commands, nodes, sessions

# SSM Agent's version on Elastic Beanstalk's platforms of January 2026 (EB release notes, 2026-01-22).
AGENT_VERSION = "3.3.3270.0"
SHELL = ["/bin/sh", "-i"]  # SSM-SessionManagerRunShell's default shell on Linux, interactive
SESSION_DOCUMENTS = ("SSM-SessionManagerRunShell", "AWS-StartInteractiveCommand")
FILTERS = ("InstanceIds", "PingStatus", "PlatformTypes", "ResourceType", "IamRole", "AgentVersion")


class InvalidDocument(ServiceException):
    code = "InvalidDocument"


class InvalidParameters(ServiceException):
    code = "InvalidParameters"


class InvalidInstanceId(ServiceException):
    code = "InvalidInstanceId"


class InvocationDoesNotExist(ServiceException):
    code = "InvocationDoesNotExist"


class InvalidPluginName(ServiceException):
    code = "InvalidPluginName"


class InvalidFilterKey(ServiceException):
    code = "InvalidFilterKey"


class TargetNotConnected(ServiceException):
    code = "TargetNotConnected"


def register() -> None:
    once("ssm", _install)


def _install() -> None:
    replace(SimpleSystemManagerBackend, "send_command", _running(SimpleSystemManagerBackend.send_command))
    replace(SimpleSystemManagerBackend, "get_command_invocation", _get_command_invocation)
    replace(SSMCommand, "response_object", _with_status(SSMCommand.response_object))
    for name in ("list_command_invocations", "describe_instance_information", "start_session", "terminate_session"):
        add(SimpleSystemManagerResponse, name, globals()[f"_{name}"])


def _hosting() -> Any:
    return emulation_settings.current().hosting


# -- Run Command -----------------------------------------------------------------------------------------
def _running(original: Callable[..., Any]) -> Callable[..., Any]:
    def send_command(backend: Any, **request: Any) -> Any:
        document = request.get("document_name")
        if document != commands.DOCUMENT:
            raise InvalidDocument(f"The local cloud runs the {commands.DOCUMENT} document only, not {document}.")
        if request.get("targets"):
            raise InvalidParameters("The local cloud sends commands to InstanceIds only, not to Targets.")
        script = _script(request.get("parameters") or {})
        instance_ids = list(request.get("instance_ids") or [])
        known = {n.instance_id for n in nodes.managed(backend.account_id, backend.region_name, _hosting())}
        invalid = [i for i in instance_ids if i not in known]
        if invalid or not instance_ids:
            raise InvalidInstanceId(f"Instances [[{', '.join(invalid)}]] not in a valid state for account "
                                    f"{backend.account_id}")
        command = original(backend, **request)
        commands.send(_hosting(), command.command_id, instance_ids, script, request.get("comment") or "")
        return command
    return send_command


def _script(parameters: dict[str, list[str]]) -> commands.Script:
    """AWS-RunShellScript's parameters (each a list of strings, as SendCommand carries them), checked."""
    unknown = sorted(set(parameters) - {"commands", "workingDirectory", "executionTimeout"})
    lines = parameters.get("commands") or []
    if unknown or not lines:
        raise InvalidParameters(f"{commands.DOCUMENT} takes commands (required), workingDirectory and "
                                f"executionTimeout{'; not ' + ', '.join(unknown) if unknown else ''}.")
    timeout = "".join(parameters.get("executionTimeout") or [str(commands.DEFAULT_TIMEOUT)])
    if not timeout.isdigit() or not 1 <= int(timeout) <= commands.MAX_TIMEOUT:
        raise InvalidParameters(f"executionTimeout must be a whole number of seconds from 1 to "
                                f"{commands.MAX_TIMEOUT}, not {timeout!r}.")
    directory = "".join(parameters.get("workingDirectory") or []) or None
    return commands.Script("\n".join(lines) + "\n", directory, int(timeout))


def _get_command_invocation(backend: Any, command_id: str, instance_id: str, plugin_name: str | None) -> Any:
    command = backend.get_command_by_id(command_id)  # moto's InvalidCommandId for an unknown one
    found = next((i for i in commands.invocations(command_id) or [] if i.instance_id == instance_id), None)
    if found is None:
        raise InvocationDoesNotExist("The command ID and instance ID you specified did not match any "
                                     "invocations. Verify the command ID and the instance ID and try again.")
    if plugin_name not in (None, commands.PLUGIN):
        raise InvalidPluginName(f"{commands.DOCUMENT} has one step, {commands.PLUGIN}, not {plugin_name}.")
    return found.describe(command.document_name)


def _with_status(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def response_object(command: Any) -> dict[str, Any]:
        return {**original(command), **(commands.summary(command.command_id) or {})}
    return response_object


def _list_command_invocations(response: Any) -> ActionResult:
    command_id, instance_id = response._get_param("CommandId"), response._get_param("InstanceId")
    details = bool(response._get_param("Details", False))
    entries = [invocation.listed(command.document_name, details)
               for command in response.ssm_backend.list_commands(command_id, None)
               for invocation in commands.invocations(command.command_id) or []
               if instance_id in (None, invocation.instance_id)]
    return ActionResult({"CommandInvocations": entries})


# -- managed nodes and sessions ----------------------------------------------------------------------------
def _describe_instance_information(response: Any) -> ActionResult:
    wanted = {str(f["Key"]): set(f["Values"]) for f in response._get_param("Filters", []) or []}
    wanted |= {str(f["key"]): set(f["valueSet"]) for f in response._get_param("InstanceInformationFilterList", [])
               or []}
    unknown = sorted(set(wanted) - set(FILTERS))
    if unknown:
        raise InvalidFilterKey(f"The local cloud filters managed nodes by {', '.join(FILTERS)}; not by "
                               f"{', '.join(unknown)}.")
    now, region = datetime.now(UTC), response.region
    found = [{"InstanceId": node.instance_id, "PingStatus": "Online", "LastPingDateTime": now,
              "AgentVersion": AGENT_VERSION, "IsLatestVersion": True, "PlatformType": "Linux",
              "PlatformName": "Amazon Linux", "PlatformVersion": "2023", "ResourceType": "EC2Instance",
              "IPAddress": "127.0.0.1", "ComputerName": f"ip-127-0-0-1.{region}.compute.internal",
              "IamRole": node.role, "SourceId": node.instance_id, "SourceType": "AWS::EC2::Instance"}
             for node in nodes.managed(response.current_account, region, _hosting())]
    keys = {"InstanceIds": "InstanceId", "PingStatus": "PingStatus", "PlatformTypes": "PlatformType",
            "ResourceType": "ResourceType", "IamRole": "IamRole", "AgentVersion": "AgentVersion"}
    listed = [n for n in found if all(n[keys[k]] in values for k, values in wanted.items())]
    return ActionResult({"InstanceInformationList": listed})


def _start_session(response: Any) -> ActionResult:
    target = str(response._get_param("Target"))
    if nodes.find(response.current_account, response.region, _hosting(), target) is None:
        raise TargetNotConnected(f"{target} is not connected.")
    session = sessions.start(_hosting(), target, _session_command(
        response._get_param("DocumentName"), response._get_param("Parameters") or {}))
    return ActionResult({"SessionId": session.id, "TokenValue": session.token, "StreamUrl": session.url})


def _session_command(document: str | None, parameters: dict[str, list[str]]) -> list[str]:
    """What the session runs: the default shell, or AWS-StartInteractiveCommand's `command` in sh."""
    if document in (None, SESSION_DOCUMENTS[0]):
        return SHELL
    if document != SESSION_DOCUMENTS[1]:
        raise InvalidDocument(f"The local cloud starts sessions with {' and '.join(SESSION_DOCUMENTS)} only, "
                              f"not {document}.")
    command = "\n".join(parameters.get("command") or [])
    if not command:
        raise InvalidParameters(f"{document} needs its command parameter.")
    return ["/bin/sh", "-c", command]


def _terminate_session(response: Any) -> ActionResult:
    session_id = str(response._get_param("SessionId"))
    sessions.terminate(session_id)
    return ActionResult({"SessionId": session_id})
