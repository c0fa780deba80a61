"""What the data servers share: finding a Debian-packaged binary, waiting for a port, stopping a process."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from eb_tools.errors import CloudError

# The Debian package that installs each binary, for the one line a missing one gets.
PACKAGES = {"mariadbd": "mariadb-server", "mariadb-install-db": "mariadb-server", "redis-server": "redis-server",
            "mariadb": "mariadb-client", "mariadb-dump": "mariadb-client", "mariadb-binlog": "mariadb-client"}


def binary(name: str) -> str:
    """The path of `name`, also where Debian puts daemons outside a user's PATH (/usr/sbin)."""
    found = shutil.which(name) or next(
        (str(path) for path in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if path.exists()), None)
    if not found:
        raise CloudError(f"{name} is not installed; install Debian's {PACKAGES.get(name, name)} package "
                         f"(apt-get install {PACKAGES.get(name, name)}; make up and make test do it as root)")
    return found


def wait_for_port(host: str, port: int, process: subprocess.Popen, what: str, log: Path,
                  timeout: float = 60) -> None:
    """Until `process` listens on host:port; a CloudError naming its log when it exits or never listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CloudError(f"{what} exited with status {process.returncode} while starting; see {log}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    stop(process)
    raise CloudError(f"{what} did not listen on {host}:{port} within {timeout:.0f} s; see {log}")


def stop(process: subprocess.Popen | None, timeout: float = 30) -> None:
    """SIGTERM (a clean shutdown that keeps the data), SIGKILL past `timeout`."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
