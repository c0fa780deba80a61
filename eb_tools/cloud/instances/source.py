"""What an instance reads from a source bundle (unpacked by eb_tools/archive.py): the .ebextensions commands, the
platform hooks, the Procfile's web process."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from eb_tools.formats import procfile

HOOK_PHASES = ("prebuild", "predeploy", "postdeploy")


class SourceError(Exception):
    """The bundle cannot be staged; the message is one line."""


@dataclass(frozen=True)
class Command:
    """One entry of a .ebextensions `commands` or `container_commands` section (cfn-init's keys)."""

    config: str  # the file it comes from
    name: str
    command: str | list[str]
    env: dict[str, str] | None = None  # replaces the environment, as cfn-init's `env` does
    cwd: str | None = None
    test: str | None = None
    ignore_errors: bool = False
    leader_only: bool = False

    def argv(self) -> list[str]:
        """A string runs in a shell, a list as it is (cfn-init's rule)."""
        return ["/bin/sh", "-c", self.command] if isinstance(self.command, str) else [str(a) for a in self.command]


@dataclass
class Extensions:
    commands: list[Command] = field(default_factory=list)
    container_commands: list[Command] = field(default_factory=list)


def extensions(root: Path) -> Extensions:
    """The commands of every .ebextensions/*.config, files in name order and each section's commands in name
    order, as cfn-init runs them. A file EB cannot read was refused before any instance took the bundle
    (deploy_outcome.problem), so one here is skipped."""
    found = Extensions()
    for config in sorted((root / ".ebextensions").glob("*.config")):
        try:
            document = yaml.safe_load(config.read_text())
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if not isinstance(document, dict):
            continue
        for section, into in (("commands", found.commands), ("container_commands", found.container_commands)):
            entries = document.get(section) or {}
            if isinstance(entries, dict):
                into.extend(_command(config.name, str(name), entry) for name, entry in sorted(entries.items())
                            if isinstance(entry, dict) and "command" in entry)
    return found


def _command(config: str, name: str, entry: dict[str, object]) -> Command:
    env = entry.get("env")
    command = entry["command"]
    return Command(config=config, name=name, command=command if isinstance(command, list) else str(command),
                   env={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else None,
                   cwd=str(entry["cwd"]) if entry.get("cwd") else None,
                   test=str(entry["test"]) if entry.get("test") else None,
                   ignore_errors=str(entry.get("ignoreErrors", "false")).lower() == "true",
                   leader_only=str(entry.get("leader_only", "false")).lower() == "true")


def hooks(root: Path, phase: str) -> list[str]:
    """The files of .platform/hooks/<phase>/, in the lexicographic order EB runs them, as paths relative to the
    application folder (as eb-engine.log names them)."""
    folder = root / ".platform" / "hooks" / phase
    return sorted(f".platform/hooks/{phase}/{p.name}" for p in folder.iterdir() if p.is_file()) \
        if folder.is_dir() else []


def web_command(root: Path) -> list[str]:
    """The Procfile's web process, run by a shell as the platform's process manager runs it (so $PORT in the
    line works), which execs it: the process itself leads its group and is reaped when it stops (a shell left
    in between would die at once on SIGTERM and orphan the app); SourceError when the bundle has none."""
    try:
        parsed = procfile.load(root)
        parsed.command("web")  # the error of a Procfile without a web line
    except procfile.ProcfileError as error:
        raise SourceError(str(error)) from None
    return ["/bin/sh", "-c", f"exec {parsed.processes['web'].command}"]
