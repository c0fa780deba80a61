"""Start the bundle's processes, notice when one dies, stop them all."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path


class Supervisor:
    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()

    def start(self, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
        # Own process group: Ctrl-C reaches us once, and we stop the children in order.
        process = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True)
        self.processes[name] = process
        return process

    def exited(self) -> str | None:
        """The name of a process that has exited, if any."""
        return next((name for name, p in self.processes.items() if p.poll() is not None), None)

    def wait(self) -> str | None:
        """Block until stop is requested (signal) or a process exits; return the exited one."""
        previous = {sig: signal.signal(sig, lambda *_: self.stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self.stopping.wait(0.5):
                name = self.exited()
                if name:
                    return name
            return None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_all(self, timeout: float = 15) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
