"""The CPU time a benchmark charges to the processes it measures, from /proc."""
from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int, group: bool) -> float:
    """User and system CPU time from /proc of `pid`, or of its process group (gunicorn's master and workers,
    recycled workers included through the master's cutime/cstime): unlike requests per second on a shared
    machine, it hardly moves with the neighbours' load."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat") if group else [Path(f"/proc/{pid}/stat")]:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        # fields after "(comm)": state, ppid, pgrp, ..., utime [11], stime [12], cutime [13], cstime [14]
        if not group or int(fields[2]) == pid:
            total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if stat.parent.name
                                                          == str(pid) else 0)
    return total / os.sysconf("SC_CLK_TCK")
