"""How an RDS operation on a real server runs here: in the background, the instance showing RDS's status for
it ("creating", "renaming"...) until the server answers, then "available" at its endpoint, or RDS's status for
an instance that could not be made ("incompatible-restore"...). API calls answer at once, as RDS's do.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eb_tools.cloud.moto_internals import BACKENDS
from eb_tools.errors import CloudError


def available_after(database: Any, busy: str, failed: str, work: Callable[[], tuple[str, int]]) -> None:
    """`database` (moto's record) is `busy` while `work` (a server started or restarted, returning its
    endpoint) runs in a thread, then available there, or `failed` when `work` raises a CloudError."""
    database.status = busy
    identifier = database.db_instance_identifier

    def run() -> None:
        try:
            host, port = work()
            status = "available"
        except CloudError:
            status = failed
        with BACKENDS:
            if status == "available":
                database.local_endpoint_address, database.port = host, port
            database.status = status

    threading.Thread(target=run, daemon=True, name=f"rds-{busy}-{identifier}").start()
