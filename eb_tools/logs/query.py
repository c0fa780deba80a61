"""What `eb_tools logs` was asked for, checked before any AWS call: a bad option is one line saying how to fix it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eb_tools.errors import LogsError
from eb_tools.names import TIERS

SINCE = re.compile(r"(\d{1,7})([smhd])")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LONGEST_DAYS = 3653  # CloudWatch Logs keeps events at most 10 years (RetentionInDays' largest value)
# What a trace id may hold: the apps' (the ALB's Root, 1-<8 hex>-<24 hex>) and an older envelope's (32 hex)
# pass, and nothing that could end the filter pattern's quoted string.
TRACE = re.compile(r"[A-Za-z0-9._:=-]{1,128}")


@dataclass(frozen=True)
class Query:
    tiers: tuple[str, ...]
    since_seconds: int
    grep: str | None = None
    trace: str | None = None

    @property
    def pattern(self) -> str:
        """The filter pattern CloudWatch Logs applies: the trace id, else the text, as a quoted phrase (when the
        text can be one). Not a JSON pattern on the trace_id field: on the platform a line may carry rsyslog's
        prefix before its JSON (see reading.py), and a JSON pattern matches only events that are JSON whole.
        `keeps` then checks each line found."""
        if self.trace:
            return f'"{self.trace}"'
        if self.grep and not {'"', "\\"} & set(self.grep):
            return f'"{self.grep}"'
        return ""

    def keeps(self, message: str, fields: dict[str, Any] | None) -> bool:
        """Whether a line passes --grep (the text, case sensitive, anywhere in it) and --trace (its JSON's
        trace_id is the id: a line that merely mentions the id is not of the trace)."""
        return ((self.grep is None or self.grep in message)
                and (self.trace is None or (fields or {}).get("trace_id") == self.trace))


def parse(tier: str | None, since: str, grep: str | None, trace: str | None) -> Query:
    if tier is not None and tier not in TIERS:
        raise LogsError(f"--tier {tier}: give web or worker, or leave it out for both")
    found = SINCE.fullmatch(since.strip())
    seconds = int(found.group(1)) * SECONDS[found.group(2)] if found else 0
    if not 0 < seconds <= LONGEST_DAYS * 86400:
        raise LogsError(f"--since {since}: give a number and a unit, s, m, h or d (30s, 15m, 1h, 2d), at most "
                        f"{LONGEST_DAYS}d")
    if grep is not None and not grep:
        raise LogsError("--grep: give the text the lines must contain")
    if trace is not None and not TRACE.fullmatch(trace):
        raise LogsError(f"--trace {trace[:80]}: a trace id is letters, digits and . _ : = - (the trace_id of a "
                        "JSON line, e.g. 1-67891233-abcdef012345678912345678)")
    return Query((tier,) if tier else TIERS, seconds, grep, trace)
