"""The shell text that puts a command or a session where the app runs: its directory and its environment.

On EB's Amazon Linux 2023 platforms the app lives in /var/app/current and runs in the platform's virtualenv
(/var/app/venv/staging-LQM1lest, the name users' eb-engine.log lines show), with the environment's properties
and the secrets `environmentsecrets` loads; `/opt/elasticbeanstalk/bin/get-config environment` prints those as
one JSON object (EB guide, "Platform script tools"; hooks read it, and users export it into a shell with jq:
`get-config environment | jq -r 'to_entries ...'`). jq is not everywhere, the virtualenv's Python is, so
that Python turns the object into `export NAME='value'` lines (names that are not shell variable names are
left out). get-config needs root (the guide: "some commands might require root user privileges"): Run
Command runs as root already, a Session Manager session as ssm-user, which may sudo.
"""
from __future__ import annotations

import shlex

APP = "/var/app/current"
VENV = "/var/app/venv/staging-LQM1lest"
GET_CONFIG = "/opt/elasticbeanstalk/bin/get-config"
EXPORTS = ('import json, re, shlex, sys\n'
           '[print("export %s=%s" % (k, shlex.quote(str(v)))) for k, v in json.load(sys.stdin).items()\n'
           ' if re.fullmatch("[A-Za-z_][A-Za-z0-9_]*", k)]')
ENTER = f"""\
cd {APP} 2>/dev/null || {{ echo "eb_tools: no {APP} on this instance: no version is deployed here" >&2; exit 1; }}
app_environment=$({GET_CONFIG} environment) || {{ echo "eb_tools: {GET_CONFIG} failed" >&2; exit 1; }}
eval "$(printf '%s' "$app_environment" | {VENV}/bin/python -c {shlex.quote(EXPORTS)})"
unset app_environment
export PATH="{VENV}/bin:$PATH"
"""
INTERACTIVE = "if command -v bash >/dev/null 2>&1; then exec bash -i; fi\nexec sh -i\n"


def command_line(argv: list[str]) -> str:
    """One argument is a shell line as written (pipes, &&, $NAME expanded on the instance); several are a
    command and its arguments, each passed as it is."""
    return argv[0] if len(argv) == 1 else shlex.join(argv)


def for_command(line: str) -> list[str]:
    """AWS-RunShellScript's `commands`: into the app's place, then `line`, whose exit status is the script's."""
    return [*ENTER.splitlines(), line]


def for_session() -> str:
    """AWS-StartInteractiveCommand's `command`: an interactive shell in the app's place, as root (through sudo
    when the session runs as ssm-user)."""
    script = shlex.quote(ENTER + INTERACTIVE)
    return f'if [ "$(id -u)" = 0 ]; then exec sh -c {script}; else exec sudo sh -c {script}; fi'
