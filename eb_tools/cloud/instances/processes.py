"""An instance's processes: each in a process group of its own, so that stopping one stops all it started."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

OUTPUT_TAIL = 4000  # characters of a failed step's output kept for its reason
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # an instance is reached directly


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A long-running process (the Procfile's, nginx), its output appended to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM to the process's group (a gunicorn master stops its workers on it, nginx its own), SIGKILL to
    whatever of the group is left past `timeout`."""
    if process is None:
        return
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(group, sig)


def tail(text: str) -> str:
    return text[-OUTPUT_TAIL:]


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all
    body: dict[str, object]
    error: str = ""


def probe(url: str, timeout: float = 2) -> Answer:
    """One GET of `url` (the instance's /healthz), as the load balancer's health check makes it."""
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return Answer(response.status, _json(response.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, {}, f"HTTP {error.code}")
    except (OSError, ValueError) as error:
        return Answer(None, {}, str(getattr(error, "reason", error)))


def _json(data: bytes) -> dict[str, object]:
    try:
        loaded = json.loads(data)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def wait_listening(url: str, processes: list[subprocess.Popen], timeout: float) -> Answer:
    """Until `url` answers 200, a process exits or `timeout` passes; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe(url)
        if answer.status == 200 or any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)
