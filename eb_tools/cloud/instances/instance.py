"""One emulated instance: its paths, its ports, the step it runs and the processes it keeps."""
from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eb_tools.cloud.instances import processes
from eb_tools.cloud.instances.jobs import Job
from eb_tools.cloud.instances.namespace import Layout

HOST = "127.0.0.1"


class Cancelled(Exception):
    """The instance was stopped while a deployment ran on it."""


@dataclass
class Instance:
    id: str
    tier: str  # "WebServer" or "Worker", as EB names the tiers
    layout: Layout
    port: int  # the app's: the platform's nginx proxies to 127.0.0.1:$PORT (8000 on EB)
    proxy_port: int | None  # a web instance's nginx (80 on EB)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)  # "web" (the Procfile's), "nginx"
    venv: Path | None = None  # the virtualenv of the version it runs, at /var/app/venv
    job: Job | None = None
    thread: threading.Thread | None = None
    deployments: int = 0
    stopping: bool = False
    step: subprocess.Popen | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    system: dict[str, str] = field(default_factory=dict)  # what its operating system gives any process
    one_offs: list[subprocess.Popen] = field(default_factory=list)  # Systems Manager's commands and sessions

    @property
    def web(self) -> bool:
        return self.tier == "WebServer"

    @property
    def address(self) -> tuple[str, int]:
        """Where clients reach it: nginx on a web instance, the app on a worker (where sqsd posts)."""
        return HOST, self.proxy_port or self.port

    @property
    def healthz(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/healthz"

    def run(self, argv: list[str], cwd: str, env: dict[str, str], log: Path, timeout: float,
            venv: Path | None = None) -> tuple[int, str]:
        """One step (a command, a hook, pip) in the instance's paths, its output appended to `log`; its exit
        status (-1 past `timeout`, when its process group is killed) and output. Cancelled when the instance is
        stopped meanwhile."""
        output_file = self.layout.folder / "step.out"
        with self.lock, output_file.open("wb") as output:
            if self.stopping:
                raise Cancelled
            self.step = subprocess.Popen(self.layout.command(argv, cwd, venv), env=env, stdin=subprocess.DEVNULL,
                                         stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status = self.step.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            processes.stop(self.step, timeout=5)
            status = -1
        finally:
            self.step = None
        text = output_file.read_text(errors="replace") + (f"\n(timed out after {timeout:.0f} s)" if status == -1
                                                          else "")
        with log.open("a") as appended:
            appended.write(text)
        if self.stopping:
            raise Cancelled
        return status, text

    def launch(self, name: str, argv: list[str], cwd: str, env: dict[str, str], log: Path, venv: Path) -> None:
        """A long-running process of the instance (the Procfile's web process, nginx)."""
        with self.lock:
            if self.stopping:
                raise Cancelled
            self.processes[name] = processes.start(self.layout.command(argv, cwd, venv), env, log)

    def spawn(self, argv: list[str], cwd: str, stdio: tuple[Any, Any, Any], terminal: bool = False) -> subprocess.Popen:
        """A process its operating system starts (Systems Manager's agent does, as root): the system's
        environment, not the app's, in the instance's paths with the running version's virtualenv; it outlives
        deployments and stops with the instance. `terminal`: stdin is a terminal, which becomes the process's
        controlling terminal in a session of its own (util-linux's setsid --ctty), as a login's does."""
        stdin, stdout, stderr = stdio
        command = self.layout.command(argv, cwd, self.venv)
        with self.lock:
            if self.stopping:
                raise Cancelled
            self.one_offs = [p for p in self.one_offs if p.poll() is None]
            process = subprocess.Popen(["setsid", "--ctty", *command] if terminal else command, env=self.system,
                                       stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=not terminal)
            self.one_offs.append(process)
        return process

    def exited(self) -> tuple[str, int] | None:
        """A process of the instance that has exited, with its status."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def halt(self) -> None:
        """Stop its processes: the proxy first, then the app."""
        for name in ("nginx", "web"):
            processes.stop(self.processes.pop(name, None))

    def cancel(self, keep_processes: bool = False) -> None:
        """End the deployment running on it (its step is killed), then stop its processes unless
        `keep_processes` (what runs then is the old version, or nothing when the flip had begun)."""
        with self.lock:
            self.stopping = True
            step = self.step
        if step is not None:
            processes.stop(step, timeout=5)
        if self.thread is not None:
            self.thread.join()
        if keep_processes:
            self.stopping = False
        else:
            self.halt()
            for process in self.one_offs:
                processes.stop(process, timeout=5)
            self.one_offs = []
