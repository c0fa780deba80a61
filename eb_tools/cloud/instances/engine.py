"""A deployment to one instance, in the order the EB platform engine runs it on Amazon Linux 2 and 2023.

The order (EB developer guide, "Instance deployment workflow", platforms-linux-extend.workflow, and "Platform
hooks", platforms-linux-extend.hooks): the bundle is extracted to /var/app/staging; the .ebextensions
`commands` run, then the prebuild hooks; the platform builds the application (the Python platform installs
requirements.txt into its virtualenv), copies the bundle's .platform/nginx files to the proxy's place, runs
the `container_commands` and then the predeploy hooks; the application moves to /var/app/current, the
Procfile's processes and the proxy start, and the postdeploy hooks run. The instruction names and the
[ERROR] lines written to /var/log/eb-engine.log are those of users' eb-engine.log excerpts (rennokki/
laravel-aws-eb#40, #44 and #57, BishopFox/dufflebag#4, and pip failures quoted in public repositories).
After the engine, the instance must answer /healthz (its load balancer's and health agent's check).
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from eb_tools import archive, nginx_conf
from eb_tools.cloud.instances import get_config, processes, source, venvs
from eb_tools.cloud.instances.instance import Cancelled, Instance
from eb_tools.cloud.instances.jobs import CANCELLED, HEALTH_CHECK, Failure, Job

STAGING, CURRENT = "/var/app/staging", "/var/app/current"
# What the operating system gives every process (eb_tools/local/overrides.py's PLATFORM): no environment
# property, so get-config leaves them out.
OPERATING_SYSTEM = frozenset({"HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PATH", "PWD"})
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROXY_STEPS = frozenset({"configure proxy server", "start proxy with new configuration"})  # web instances only
NGINX_ARGS = ["-p", "/etc/nginx/", "-c", "/etc/nginx/nginx.conf", "-e", "/var/log/nginx/error.log", "-g",
              "daemon off;"]


@dataclass(frozen=True)
class Request:
    tier: str
    label: str
    bundle: bytes
    environment: dict[str, str]  # what the instance's processes get, besides PORT and PATH
    leader: bool  # the command leader: runs leader_only container_commands
    application: str


@dataclass(frozen=True)
class Platform:
    """What every deployment of one runtime shares."""

    venvs: venvs.Venvs
    nginx: str | None  # nginx's binary (web instances)
    command_timeout: float
    health_timeout: float


class StepError(Exception):
    def __init__(self, error: str, detail: str, output: str, dependencies: bool = False) -> None:
        super().__init__(error)
        self.error, self.detail, self.output, self.dependencies = error, detail, output, dependencies


class Deployment:
    def __init__(self, platform: Platform, instance: Instance, job: Job, request: Request) -> None:
        self.platform, self.instance, self.job, self.request = platform, instance, job, request
        self.layout = instance.layout
        self.env = {**request.environment, "PORT": str(instance.port),
                    "PATH": f"{venvs.INSTANCE_PATH}/bin:{request.environment.get('PATH', DEFAULT_PATH)}"}
        self.files: list[str] = []
        self.extensions = source.Extensions()
        self.venv = instance.venv  # the running version's until this one's is installed, as /var/app/venv stays
        self.web_argv: list[str] = []
        self.started = False  # this version's app has been started: its output explains what fails after

    def run(self) -> None:
        """Every step, then the health check; the job ends with its failure, if any (never left running)."""
        started = time.monotonic()
        try:
            for instruction, step in self._steps():
                self._log("INFO", f"Executing instruction: {instruction}")
                begun = time.monotonic()
                try:
                    step()
                except StepError as error:
                    raise self._failed(instruction, error) from None
                self.job.seconds[instruction] = time.monotonic() - begun
            self._log("INFO", "Instance deployment completed successfully.")
            self._check_health()
            failure = None
        except _Failed as failed:
            failure = failed.failure
        except Cancelled:
            failure = Failure(CANCELLED, "The instance was stopped during the deployment.",
                              "The instance was stopped during the deployment.", "")
        except Exception as error:  # the emulation's own fault: still end the job, and say so
            failure = Failure.command(self.instance.id, "emulation", f"The instance runtime failed: {error!r}", "",
                                      repr(error))
        self.job.seconds["total"] = time.monotonic() - started
        self.job.finish(failure)

    def _steps(self) -> list[tuple[str, Callable[[], None]]]:
        web = self.instance.web
        steps = [("StageApplication", self._stage), ("PreBuildEbExtension", self._commands),
                 ("RunAppDeployPreBuildHooks", lambda: self._hooks("prebuild", STAGING)),
                 ("InstallDependency", self._install), ("check Procfile", self._procfile),
                 ("configure proxy server", self._configure_proxy),
                 ("PostBuildEbExtension", self._container_commands), ("CleanEbExtensions", self._clean),
                 ("RunAppDeployPreDeployHooks", lambda: self._hooks("predeploy", STAGING)),
                 ("stop application", self.instance.halt), ("FlipApplication", self._flip),
                 ("start application", self._start_application),
                 ("start proxy with new configuration", self._start_proxy),
                 ("RunAppDeployPostDeployHooks", lambda: self._hooks("postdeploy", CURRENT))]
        return [(name, step) for name, step in steps if web or name not in PROXY_STEPS]

    # -- the steps ----------------------------------------------------------------------------------------
    def _stage(self) -> None:
        """The platform's files for this deployment, then the bundle extracted to /var/app/staging."""
        self.instance.deployments += 1
        deployment = self.layout.opt / "deployment"
        manifest = {"RuntimeSources": {self.request.application: {self.request.label: {"s3url": ""}}},
                    "DeploymentId": self.instance.deployments, "Serial": self.instance.deployments}
        (deployment / "app_version_manifest.json").write_text(json.dumps(manifest))
        properties = {k: v for k, v in self.env.items() if k not in OPERATING_SYSTEM}
        self.instance.system = {**{k: v for k, v in self.request.environment.items() if k in OPERATING_SYSTEM},
                                "PATH": self.request.environment.get("PATH", DEFAULT_PATH)}
        (deployment / "env.json").write_text(json.dumps(properties))
        script = self.layout.opt / "bin" / "get-config"
        script.write_text(f"#!{sys.executable}\n" + Path(get_config.__file__).read_text())
        script.chmod(0o755)
        try:
            self.files = archive.extract(self.request.bundle, self.layout.app / "staging")
        except archive.ArchiveError as error:
            raise StepError(str(error), str(error), "") from None
        self.extensions = source.extensions(self.layout.app / "staging")

    def _commands(self) -> None:
        for command in self.extensions.commands:  # cfn-init runs them in the root user's home
            self._command(command, self.env.get("HOME", "/"), "EbExtension build failed")

    def _container_commands(self) -> None:
        for command in self.extensions.container_commands:
            self._command(command, STAGING, "Container commands build failed")

    def _command(self, command: source.Command, cwd: str, failed: str) -> None:
        """One .ebextensions command as cfn-init runs it (its `test`, `env`, `cwd`, `ignoreErrors`, and
        `leader_only` for container commands); its outcome in /var/log/cfn-init.log, output in cfn-init-cmd.log."""
        if command.leader_only and not self.request.leader:
            self._cfn_init("INFO", f"Command {command.name} skipped: leader_only, and this instance is not the "
                           "command leader")
            return
        env, where = command.env if command.env is not None else self.env, command.cwd or cwd
        log = self.layout.log / "cfn-init-cmd.log"
        if command.test:
            status, _ = self.instance.run(["/bin/sh", "-c", command.test], where, env, log, self._timeout, self.venv)
            if status != 0:
                self._cfn_init("INFO", f"Test failed for Command {command.name}; not run")
                return
        status, output = self.instance.run(command.argv(), where, env, log, self._timeout, self.venv)
        if status == 0 or command.ignore_errors:
            self._cfn_init("INFO", f"Command {command.name} succeeded")
            return
        self._cfn_init("ERROR", f"Command {command.name} ({command.command}) failed")
        raise StepError(f"{failed}. Please refer to /var/log/cfn-init.log for more details.",
                        f"{command.config}: command {command.name} failed with exit status {status}: "
                        f"{_last_line(output)}", output)

    def _hooks(self, phase: str, cwd: str) -> None:
        """The phase's hooks in order, each as its own process; the first that fails stops the deployment."""
        root = self.layout.app / cwd.rsplit("/", 1)[1]
        for hook in source.hooks(root, phase):
            self._log("INFO", f"Running platform hook: {hook}")
            status, output = self.instance.run([hook], cwd, self.env, self.layout.log / "eb-hooks.log",
                                               self._timeout, self.venv)
            if status != 0:
                error = f"Command {hook} failed with error exit status {status}. Stderr:{_last_line(output)}"
                raise StepError(error, error, output)

    def _install(self) -> None:
        requirements = venvs.Requirements.read(self.layout.app / "staging")
        try:
            installed = self.platform.venvs.install(
                requirements,
                lambda argv, folder: self.instance.run(argv, STAGING, venvs.pip_environment(self.env, requirements),
                                                       self.layout.log / "eb-engine.log", self._timeout, venv=folder))
        except venvs.InstallFailed as failed:
            errors = " ".join(line for line in failed.output.splitlines() if line.startswith("ERROR")) \
                or _last_line(failed.output)
            raise StepError(f"fail to install dependencies with requirements.txt file with error Command "
                            f"{' '.join(failed.command)} failed with error exit status {failed.status}. "
                            f"Stderr:{errors}", errors, failed.output, dependencies=True) from None
        self.venv, self.job.venv_reused = installed.folder, installed.reused

    def _procfile(self) -> None:
        try:
            self.web_argv = source.web_command(self.layout.app / "staging")
        except source.SourceError as error:
            raise StepError(str(error), str(error), "") from None

    def _configure_proxy(self) -> None:
        """The platform's nginx layout with the bundle's .platform/nginx files, ready for the flip."""
        staged = self.layout.folder / "nginx.staging"
        shutil.rmtree(staged, ignore_errors=True)
        nginx_conf.prepare(staged, self.layout.app / "staging", self.files, f"127.0.0.1:{self.instance.proxy_port}",
                           f"127.0.0.1:{self.instance.port}", seen_at=Path("/etc/nginx"), logs=Path("/var/log/nginx"),
                           user="root")

    def _clean(self) -> None:
        shutil.rmtree(self.layout.app / "staging" / ".ebextensions", ignore_errors=True)

    def _flip(self) -> None:
        """/var/app/staging becomes /var/app/current (and the staged nginx layout /etc/nginx)."""
        for staged, live in ((self.layout.app / "staging", self.layout.app / "current"),
                             (self.layout.folder / "nginx.staging", self.layout.nginx)):
            if staged.exists():
                shutil.rmtree(live, ignore_errors=True)
                staged.rename(live)
        self.instance.venv = self.venv

    def _start_application(self) -> None:
        assert self.venv is not None
        self.instance.launch("web", self.web_argv, CURRENT, self.env, self.layout.log / "web.stdout.log", self.venv)
        self.started = True

    def _start_proxy(self) -> None:
        assert self.venv is not None and self.platform.nginx is not None
        self.instance.launch("nginx", [self.platform.nginx, *NGINX_ARGS], "/", self.env,
                             self.layout.log / "nginx" / "stdout.log", self.venv)

    # -- after the engine -------------------------------------------------------------------------------
    def _check_health(self) -> None:
        """/healthz answers 200 and names the version, within the health timeout."""
        timeout = self.platform.health_timeout
        answer = processes.wait_listening(self.instance.healthz, list(self.instance.processes.values()), timeout)
        exited = self.instance.exited()
        named = answer.body.get("version")
        if exited:
            reason = f"The {exited[0]} process exited with status {exited[1]} after the deployment."
        elif answer.status != 200:
            reason = f"/healthz did not answer 200 within {timeout:.0f} s ({answer.error or answer.status})."
        elif named is not None and named != self.request.label:
            reason = f"/healthz names version {named}, not {self.request.label}."
        else:
            return
        raise _Failed(Failure(HEALTH_CHECK, reason, reason, self._app_output(), health_check=True))

    # -- what failures say ------------------------------------------------------------------------------
    def _failed(self, instruction: str, error: StepError) -> _Failed:
        line = (f"An error occurred during execution of command [app-deploy] - [{instruction}]. Stop running the "
                f"command. Error: {error.error}")
        self._log("ERROR", line)
        output = processes.tail(error.output) + (f"\n{self._app_output()}" if self.started else "")
        return _Failed(Failure.command(self.instance.id, instruction, line, output, error.detail,
                                       dependencies=error.dependencies))

    def _app_output(self) -> str:
        log = self.layout.log / "web.stdout.log"
        text = log.read_text(errors="replace") if log.is_file() else ""
        return f"/var/log/web.stdout.log:\n{processes.tail(text)}"

    def _log(self, level: str, message: str) -> None:
        """A line of /var/log/eb-engine.log, in the engine's format."""
        with (self.layout.log / "eb-engine.log").open("a") as log:
            log.write(f"{datetime.now():%Y/%m/%d %H:%M:%S.%f} [{level}] {message}\n")

    def _cfn_init(self, level: str, message: str) -> None:
        with (self.layout.log / "cfn-init.log").open("a") as log:
            log.write(f"{datetime.now():%Y-%m-%d %H:%M:%S,%f}"[:-3] + f" [{level}] {message}\n")

    @property
    def _timeout(self) -> float:
        return self.platform.command_timeout


class _Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"
