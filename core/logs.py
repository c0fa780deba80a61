"""Application logging: one JSON object per line on stdout, which EB's platform writes to /var/log/web.stdout.log
and streams to CloudWatch Logs.

Each line carries the time, level, logger and message, the tier and the EC2 instance it came from, and what the
line belongs to: the web request (its `request_id`, which is also its `trace_id`), or the task (its name,
idempotency key, sqsd's message id as `request_id`, and the `trace_id` the web request put in the envelope), so
one user action can be followed from the request through SQS into the worker (`eb_tools logs --trace`). The
apps bind that context per request and task (`bound`); whatever is queued meanwhile carries its trace id.

gunicorn configures only its own loggers (its error lines stay as gunicorn writes them); without this, the
apps' INFO records (an upload completed, a task rejected and why) would never be written.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Their INFO lines are about credentials, pools and plugins loaded at start.
NOISY = ("botocore", "boto3", "urllib3", "s3transfer", "alembic.runtime.plugins")
# cloud-init's cache of the instance's metadata (world-readable, written at boot on Amazon Linux 2 and 2023):
# the instance id without a call to the metadata service (cloud-init docs, "Instance metadata", v1.instance_id).
INSTANCE_DATA = Path("/run/cloud-init/instance-data.json")
# The Root of the ALB's X-Amzn-Trace-Id: version 1, the epoch second in 8 hex digits, 24 hex digits
# (ELB guide, "Request tracing for your Application Load Balancer").
TRACE_ROOT = re.compile(r"(?:^|;)\s*Root=(1-[0-9a-f]{8}-[0-9a-f]{24})\s*(?:;|$)")
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_context: ContextVar[dict[str, str]] = ContextVar("log_context")


def new_trace_id() -> str:
    """A trace id in the ALB's format, for a request that came without one or work no request started."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def trace_id_of(header: str | None) -> str:
    """The Root of an X-Amzn-Trace-Id header, or a new trace id when there is no well-formed one (a client's
    header reaches the app only through the ALB, which keeps a Root it finds; anything else is not trusted
    into the logs)."""
    found = TRACE_ROOT.search(header or "")
    return found.group(1) if found else new_trace_id()


def current(name: str) -> str | None:
    """A field of the context bound now (`trace_id`, ...), or None."""
    return _context.get({}).get(name)


def bind(**fields: str | None) -> Token[dict[str, str]]:
    """From now on (until `unbind`), every line logged in this thread carries `fields` (those not None), beside
    what was bound already."""
    return _context.set({**_context.get({}), **{k: v for k, v in fields.items() if v is not None}})


def unbind(token: Token[dict[str, str]]) -> None:
    """Back to the context `bind` found."""
    _context.reset(token)


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """`bind` for the lines logged inside."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


def instance_id(source: Path = INSTANCE_DATA) -> str | None:
    """The EC2 instance id cloud-init cached at boot; None off an instance (a test, a developer's machine)."""
    try:
        data = json.loads(source.read_text())
    except (OSError, ValueError):
        return None
    v1 = data.get("v1") if isinstance(data, dict) else None
    found = v1.get("instance_id") if isinstance(v1, dict) else None
    return found if isinstance(found, str) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback included, as `exception`)."""

    def __init__(self, tier: str, instance: str | None) -> None:
        super().__init__()
        self.tier, self.instance = tier, instance

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "tier": self.tier, "instance": self.instance, **_context.get({}),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS and k not in line)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)  # ASCII: whatever the locale's encoding, a lone surrogate too


def configure(level: str, tier: str) -> None:
    """JSON lines at `level` on stdout: the Procfile process's output, which the platform logs."""
    root = logging.getLogger()
    if not root.handlers:  # a test runner or a host that set up logging keeps its own
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter(tier, instance_id()))
        root.addHandler(handler)
        root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
