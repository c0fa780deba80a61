"""The id of the API call being served: EB's events carry the id of the request that caused them."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

_REQUEST = threading.local()  # the server is threaded: each thread serves one call at a time


def current_request_id() -> str:
    """The id of the call being served; a fresh one outside a call."""
    return getattr(_REQUEST, "id", None) or str(uuid.uuid4())


@contextmanager
def serving(request_id: str) -> Iterator[None]:
    """Act on behalf of request `request_id` for the duration of the block."""
    previous, _REQUEST.id = getattr(_REQUEST, "id", None), request_id
    try:
        yield
    finally:
        _REQUEST.id = previous
