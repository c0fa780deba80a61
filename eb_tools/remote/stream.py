"""The client of the local cloud's session stream (tcp://host:port/v1/data-channel/<session>), where AWS's
sessions speak Session Manager's data-channel protocol over wss:// to the session-manager-plugin.

The stream's form is the local cloud's (its README, "The local cloud and moto"): one JSON line with the
session's token and the terminal's size, then the terminal's bytes both ways. A terminal here is put in raw
mode for the session (keys, Ctrl-C included, go to the remote shell, whose terminal echoes them), and put
back after; input that is no terminal (a pipe, a file) is sent as it is and its end is the session's end of
input, so `eb_tools shell STAGE < commands.sh` runs a script in the shell.
"""
from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import socket
import stat
import termios
import tty
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

from eb_tools.errors import RemoteError

SCHEME = "tcp"
CHUNK = 65536


def serves(url: str) -> bool:
    """Whether `url` is such a stream (the local cloud's), not Session Manager's wss:// data channel."""
    return urlsplit(url).scheme == SCHEME


def attach(url: str, token: str, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Carry this terminal (or stdin and stdout) to the session until it ends; 0."""
    where = urlsplit(url)
    size = shutil.get_terminal_size()
    try:
        connection = socket.create_connection((where.hostname, where.port or 0), timeout=10)
    except OSError as error:
        raise RemoteError(f"the session's stream {url} cannot be reached: {error}") from None
    with connection, _raw(stdin):
        connection.sendall(json.dumps({"TokenValue": token, "rows": size.lines, "cols": size.columns}).encode()
                           + b"\n")
        connection.settimeout(None)
        _relay(connection, stdin.fileno(), stdout)
    return 0


def _relay(connection: socket.socket, source: int, sink: BinaryIO) -> None:
    """Input to the session, its output to `sink`, until the session closes the stream. A regular file, which
    no selector watches, is sent whole first."""
    with selectors.DefaultSelector() as selector:
        selector.register(connection, selectors.EVENT_READ)
        if stat.S_ISREG(os.fstat(source).st_mode):
            while data := os.read(source, CHUNK):
                connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        else:
            selector.register(source, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is connection:
                    output = connection.recv(CHUNK)
                    if not output:
                        return
                    sink.write(output)
                    sink.flush()
                    continue
                data = os.read(source, CHUNK)
                if data:
                    connection.sendall(data)
                else:  # no more input: the session's terminal gets its end of file
                    selector.unregister(source)
                    connection.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def _raw(stdin: BinaryIO) -> Iterator[None]:
    """This terminal in raw mode meanwhile (input that is no terminal is left as it is)."""
    if not stdin.isatty():
        yield
        return
    saved = termios.tcgetattr(stdin.fileno())
    tty.setraw(stdin.fileno())
    try:
        yield
    finally:
        termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, saved)
