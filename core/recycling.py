"""Recycle a gunicorn worker process when its memory has grown past its share of the instance, not after a count.

gunicorn's max_requests restarts every process every N requests whether it grew or not, and a restart is a boot
(the worker app imports in ~0.4 s of CPU): every 2,000 no-op tasks that was ~0.2 ms of CPU per task, a fifth of
the worker path's (benchmarks/worker_throughput.py), while one large image can grow a process past any count.
Here a process finishes the request during which its resident memory passed the bound, then exits gracefully
and the master starts a fresh one; reading /proc/self/statm after each request costs a few microseconds.
The bound is GUNICORN_MAX_WORKER_MB (0 disables it), by default each process's equal share of SHARE of the
instance's memory, which leaves the rest to nginx, sqsd, the agents and a process recycling meanwhile, and never
under DEFAULT_FLOOR: either app weighs 70-80 MiB once imported, and a bound below what a process needs to serve
at all would restart it after every request (the log line counts the requests, which shows it).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.settings import ConfigError

SHARE = 0.6
STATM = Path("/proc/self/statm")
MEMINFO = Path("/proc/meminfo")
MIB = 1024 * 1024
DEFAULT_FLOOR = 256 * MIB
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")  # statm counts pages; read once, not per request


def resident_bytes() -> int:
    """This process's resident set size: statm's second field, in pages."""
    with open(STATM, "rb") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


def instance_bytes() -> int:
    """MemTotal of /proc/meminfo: the instance's memory (the machine's, in a container without a limit)."""
    for line in MEMINFO.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise ConfigError("/proc/meminfo has no MemTotal line; set GUNICORN_MAX_WORKER_MB")


def bound_bytes(workers: int, environ: Mapping[str, str] = os.environ) -> int | None:
    """The resident size past which a process is recycled, or None: disabled, or no /proc to read it from."""
    raw = environ.get("GUNICORN_MAX_WORKER_MB", "").strip()
    if raw:
        if not raw.isdigit():
            raise ConfigError(f"GUNICORN_MAX_WORKER_MB: {raw!r} is not a whole number of MiB; "
                              "set it to a process's memory bound, or 0 to never recycle")
        return int(raw) * MIB or None
    if not (STATM.exists() and MEMINFO.exists()):
        return None  # not Linux (a developer's Mac): no bound rather than a guess
    return max(DEFAULT_FLOOR, int(instance_bytes() * SHARE / max(1, workers)))


class MemoryBound:
    """gunicorn's post_request hook: mark the worker to exit once the request that grew it past the bound ends."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit

    def __call__(self, worker: Any, req: Any, environ: Any, resp: Any) -> None:
        if self.limit is None or not worker.alive:
            return
        resident = resident_bytes()
        if resident > self.limit:
            worker.log.info("Recycling worker (pid: %s) after %d requests: %d MiB resident, past its bound of %d MiB",
                            worker.pid, worker.nr, resident // MIB, self.limit // MIB)
            worker.alive = False  # as max_requests does: the worker finishes its requests in flight, then exits
