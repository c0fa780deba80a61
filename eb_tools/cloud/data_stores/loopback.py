"""Endpoints on loopback addresses of their own.

In AWS a writer, each of its read replicas and a Redis node are different hosts that all listen on the port
the template gives (3306, 6379), and the apps are told one port for the writer and the reader (DB_PORT). Here
each server gets an address of its own in 127.0.0.0/8, which Linux routes to the loopback interface, and the
port the template asks for when it is free there (else any free one, which the stack's outputs then give).
"""
from __future__ import annotations

import random
import socket

from eb_tools.errors import CloudError


def _free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _any_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def endpoint(wanted_port: int, taken: set[str]) -> tuple[str, int]:
    """A loopback address not in `taken` (added to it), with `wanted_port` when it is free there."""
    for _ in range(100):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if host in taken:
            continue
        try:
            port = wanted_port if _free(host, wanted_port) else _any_port(host)
        except OSError as error:
            raise CloudError(f"cannot listen on {host} ({error}): the local cloud's data servers need the "
                             "loopback network 127.0.0.0/8") from None
        taken.add(host)
        return host, port
    raise CloudError("no free loopback address for a data server")
