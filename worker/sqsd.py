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

from werkzeug.datastructures import Headers

USER_AGENT = re.compile(r"aws-sqsd/\d+(?:\.\d+)+")
PREFIX = "X-Aws-Sqsd-"
# The largest body sqsd can post: SQS's largest message, 1 MiB (SendMessage's MessageBody, SQS API reference).
MAX_MESSAGE_BYTES = 1_048_576
ATTR_PREFIX = "X-Aws-Sqsd-Attr-"


@dataclass(frozen=True)
class SqsdMessage:
    msgid: str
    queue: str | None = None
    first_received_at: str | None = None
    receive_count: int = 1
    sender_id: str | None = None
    taskname: str | None = None
    scheduled_at: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_headers(cls, headers: Headers | Mapping[str, str]) -> SqsdMessage | None:
        """The message sqsd describes, or None when the request is not sqsd's."""
        msgid = headers.get(f"{PREFIX}Msgid")
        if not msgid or not USER_AGENT.fullmatch(headers.get("User-Agent", "")):
            return None
        try:
            receive_count = int(headers.get(f"{PREFIX}Receive-Count", "1"))
        except ValueError:
            receive_count = 1
        attributes = {
            name[len(ATTR_PREFIX):]: value
            for name, value in headers.items()
            if name.lower().startswith(ATTR_PREFIX.lower())
        }
        return cls(
            msgid=msgid,
            queue=headers.get(f"{PREFIX}Queue"),
            first_received_at=headers.get(f"{PREFIX}First-Received-At"),
            receive_count=receive_count,
            sender_id=headers.get(f"{PREFIX}Sender-Id"),
            taskname=headers.get(f"{PREFIX}Taskname"),
            scheduled_at=headers.get(f"{PREFIX}Scheduled-At"),
            attributes=attributes,
        )
