"""The request Elastic Beanstalk's sqsd daemon makes for each SQS message.

sqsd POSTs the message body with User-Agent aws-sqsd/<version> and these headers
(EB developer guide, "Elastic Beanstalk worker environments"); periodic tasks
from cron.yaml add the task name, its scheduled time and the sender id. The
version is dotted digits: sqsd's daemon sends "aws-sqsd/#{version}" with versions
such as 2.0 and 2.3 in its source, and EB's current platforms send aws-sqsd/3.0.4;
the whole header must be that, not merely start with "aws-sqsd".
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = re.compile(r"aws-sqsd/\d+(?:\.\d+)+")
# The headers as the WSGI environ holds them (PEP 3333: HTTP_ and the name upper-cased, dashes as underscores).
# Read there, not through werkzeug's Headers, whose every lookup and iteration rebuilds the names of all the
# request's headers: 13 us of a no-op task's CPU, now 3 (benchmarks/worker_throughput.py).
PREFIX = "HTTP_X_AWS_SQSD_"
ATTR_PREFIX = "HTTP_X_AWS_SQSD_ATTR_"
# The largest body sqsd can post: SQS's largest message, 1 MiB (SendMessage's MessageBody, SQS API reference).
MAX_MESSAGE_BYTES = 1_048_576


@dataclass(frozen=True)
class SqsdMessage:
    msgid: str
    queue: str | None = None
    first_received_at: str | None = None
    receive_count: int = 1
    sender_id: str | None = None
    taskname: str | None = None
    scheduled_at: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # by name as werkzeug shows it: "Foo-Bar"

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> SqsdMessage | None:
        """The message sqsd describes in a WSGI environ's headers, or None when the request is not sqsd's."""
        msgid = environ.get(f"{PREFIX}MSGID")
        if not msgid or not USER_AGENT.fullmatch(environ.get("HTTP_USER_AGENT", "")):
            return None
        try:
            receive_count = int(environ.get(f"{PREFIX}RECEIVE_COUNT", "1"))
        except ValueError:
            receive_count = 1
        attributes = {
            name[len(ATTR_PREFIX):].replace("_", "-").title(): value
            for name, value in environ.items()
            if name.startswith(ATTR_PREFIX)
        }
        return cls(
            msgid=msgid,
            queue=environ.get(f"{PREFIX}QUEUE"),
            first_received_at=environ.get(f"{PREFIX}FIRST_RECEIVED_AT"),
            receive_count=receive_count,
            sender_id=environ.get(f"{PREFIX}SENDER_ID"),
            taskname=environ.get(f"{PREFIX}TASKNAME"),
            scheduled_at=environ.get(f"{PREFIX}SCHEDULED_AT"),
            attributes=attributes,
        )
