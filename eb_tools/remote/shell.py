"""`eb_tools shell`: an interactive shell on one instance of a tier, through Session Manager.

StartSession with AWS-StartInteractiveCommand, its command the app's place and an interactive shell there
(app_shell.py), then what the AWS CLI's `aws ssm start-session` does with the answer (aws-cli's
awscli/customizations/sessionmanager.py): run `session-manager-plugin` with the answer (SessionId, TokenValue,
StreamUrl as JSON; in the environment variable AWS_SSM_START_SESSION_RESPONSE, named in its place, for a
plugin newer than 1.2.497.0, so that the token is in no process listing), the region, "StartSession", the
profile (or ""), the request as JSON and the SSM endpoint, ignoring the signals a user types meanwhile (the
plugin passes them to the session); without the plugin, terminate the session (else it lingers on the agent)
and say how to install it. The local cloud
answers a tcp:// stream instead of Session Manager's wss:// data channel, which eb_tools speaks itself
(stream.py: a declared local difference).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from eb_tools.errors import RemoteError
from eb_tools.remote import app_shell, nodes, stream
from eb_tools.stage.target import StageTarget

PLUGIN = "session-manager-plugin"
INSTALL = ("https://docs.aws.amazon.com/systems-manager/latest/userguide/"
           "session-manager-working-with-install-plugin.html")
DOCUMENT = "AWS-StartInteractiveCommand"
RESPONSE_VARIABLE = "AWS_SSM_START_SESSION_RESPONSE"
LAST_WITHOUT_VARIABLE = "1.2.497.0"  # plugins up to this version read the answer itself from their arguments
TYPED_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)

Echo = Callable[[str], None]


def open_shell(where: StageTarget, tier: str, instance_id: str | None, stdin: BinaryIO, stdout: BinaryIO,
               announce: Echo) -> int:
    """A shell on one instance of `tier` until it ends; the exit status of the client (the plugin's)."""
    node = nodes.choose(where, tier, instance_id)
    request = {"Target": node.instance_id, "DocumentName": DOCUMENT, "Reason": f"eb_tools shell {where.name}",
               "Parameters": {"command": [app_shell.for_session()]}}
    ssm = where.client("ssm")
    with where.naming_errors():
        started = ssm.start_session(**request)
    announce(f"session {started['SessionId']} on {node}; exit the shell to end it")
    if stream.serves(started["StreamUrl"]):
        return stream.attach(started["StreamUrl"], started["TokenValue"], stdin, stdout)
    plugin = shutil.which(PLUGIN)
    if plugin is None:
        with where.naming_errors():
            ssm.terminate_session(SessionId=started["SessionId"])
        raise RemoteError(f"eb_tools shell needs AWS's {PLUGIN}, which is not installed here: install it as "
                          f"{INSTALL} says, then run the command again")
    version = subprocess.run([plugin, "--version"], capture_output=True, text=True).stdout
    argv, env = plugin_command(plugin, version, started, request, where.target.region, where.stage.profile,
                               ssm.meta.endpoint_url)
    with typed_signals_ignored():
        return subprocess.call(argv, env=env)


def plugin_command(plugin: str, version: str, started: dict[str, Any], request: dict[str, Any], region: str,
                   profile: str | None, endpoint_url: str) -> tuple[list[str], dict[str, str]]:
    """The plugin's arguments and environment, as the AWS CLI gives them to a plugin of `version`."""
    answer = json.dumps({key: started[key] for key in ("SessionId", "TokenValue", "StreamUrl")})
    env = dict(os.environ)
    if _newer(version, LAST_WITHOUT_VARIABLE):
        env[RESPONSE_VARIABLE], answer = answer, RESPONSE_VARIABLE
    return [plugin, answer, region, "StartSession", profile or "", json.dumps(request), endpoint_url], env


def _newer(version: str, than: str) -> bool:
    """Whether a plugin's `--version` text names a version after `than` (an unreadable one does not)."""
    text = re.sub(r"\s+", "", version)
    if not re.fullmatch(r"\d+(\.\d+){0,3}", text):
        return False
    mine, theirs = [int(p) for p in text.split(".")], [int(p) for p in than.split(".")]
    width = max(len(mine), len(theirs))
    return mine + [0] * (width - len(mine)) > theirs + [0] * (width - len(theirs))


@contextmanager
def typed_signals_ignored() -> Iterator[None]:
    """Ctrl-C, Ctrl-\\ and Ctrl-Z go to the plugin (and through it to the session), not to eb_tools."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in TYPED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
