"""SQS ReceiveMessage as an atomic step, as SQS's own is: one receive at a time takes a message or moves it.

moto's receive scans a queue and changes it (marks messages received, moves those past maxReceiveCount to
the dead-letter queue) without a lock; only its wait for new messages holds one. Long-polls run outside
the local cloud's turn-taking (cloud.py), so two at once could both take one message, or move it to the
DLQ twice and fail ("list.remove(x): x not in list"), as sqsd's pollers and two worker instances do. Here
each scan takes its turn on BACKENDS; the wait between scans does not, so a long-poll holds up nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from eb_tools.cloud.moto_internals import BACKENDS, SQSBackend, once, replace

Receive = Callable[..., list[Any]]


def register() -> None:
    once("sqs_receive", lambda: replace(SQSBackend, "receive_message", _atomic(SQSBackend.receive_message)))


def _atomic(scan: Receive) -> Receive:
    def receive_message(backend: Any, queue_name: str, count: int, wait_seconds_timeout: int,
                        visibility_timeout: int, message_attribute_names: list[str] | None = None) -> list[Any]:
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            with BACKENDS:  # moto's own scan, told not to wait: it returns at once, with or without messages
                found = scan(backend, queue_name, count, 0, visibility_timeout, message_attribute_names)
                queue = backend.get_queue(queue_name)
            if found or time.monotonic() >= deadline:
                return found
            queue.wait_for_messages(1)  # woken by a send; at most a second, then scan again

    return receive_message
