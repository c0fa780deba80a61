"""A log line as `eb_tools logs` shows it: readable text, or a JSON object with `--output json`.

Text: an app's JSON line as `TIME LEVEL [TIER INSTANCE] MESSAGE key=value...` (its traceback, if any, on the
lines below, indented); any other line (gunicorn's own) as CloudWatch's time, the prefix and the line as it is.
JSON: {"timestamp", "tier", "instance", "line"}, `line` the app's object as it was logged, or the raw text.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from eb_tools.logs.reading import Event

PREFIXED = ("time", "level", "message", "tier", "instance", "exception")  # shown in their places, not as key=value


def timestamp(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def text(event: Event) -> str:
    prefix = f"[{event.tier} {event.instance}]"
    fields = event.fields
    if fields is None:
        return f"{timestamp(event.timestamp)} {prefix} {event.message}"
    pairs = [f"{key}={_shown(value)}" for key, value in fields.items() if key not in PREFIXED and value is not None]
    when = fields.get("time") if isinstance(fields.get("time"), str) else timestamp(event.timestamp)
    line = " ".join([str(when), str(fields.get("level", "-")), prefix, str(fields.get("message", "")), *pairs])
    trace = fields.get("exception")
    if isinstance(trace, str):
        line += "".join(f"\n    {row}" for row in trace.splitlines())
    return line


def _shown(value: Any) -> str:
    """A value as key=value shows it: a string plain when it is one word, else quoted; anything else as JSON."""
    if not isinstance(value, str):
        return json.dumps(value, default=str, separators=(",", ":"))
    return value if value and not any(c.isspace() or c in '"=' for c in value) else json.dumps(value)


def as_json(event: Event) -> dict[str, Any]:
    return {"timestamp": timestamp(event.timestamp), "tier": event.tier, "instance": event.instance,
            "line": event.fields if event.fields is not None else event.message}


def json_line(event: Event) -> str:
    """One line of a followed stream: a JSON object."""
    return json.dumps(as_json(event))
