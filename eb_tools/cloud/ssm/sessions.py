"""Session Manager's sessions to the local instances: a shell under a terminal of its own on the instance, its
bytes carried over a plain TCP stream.

On AWS, StartSession answers a token and a wss://ssmmessages.<region>.amazonaws.com/v1/data-channel/<session>
URL, and the session-manager-plugin speaks Session Manager's framed, acknowledged data-channel protocol over
that WebSocket to the SSM Agent, which runs the session's shell under a pseudo-terminal. Here the shell is as
real (the instance's paths, a pseudo-terminal that is its controlling terminal, the operating system's
environment) but the stream is not that protocol: StartSession answers tcp://127.0.0.1:<port>/v1/data-channel/
<session>, where one connection, within CONNECT_SECONDS, sends one JSON line ({"TokenValue", "rows",
"cols"}) and then the terminal's bytes both ways; when its sender has no more to send (shuts its side down),
the terminal gets an end of file (^D), and the stream ends with the shell. A declared local difference: the
session-manager-plugin cannot connect here, and eb_tools' own client speaks this stream.
"""
from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import secrets
import selectors
import socket
import struct
import termios
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eb_tools.cloud.instances import processes
from eb_tools.errors import CloudError

if TYPE_CHECKING:
    import subprocess

    from eb_tools.cloud.instances.hosting import Hosting

CONNECT_SECONDS = 60.0  # a session's token is good for its one connection, this long
HANDSHAKE_BYTES = 4096
EOF = b"\x04"  # the terminal's end-of-file character (VEOF, ^D)


@dataclass
class Session:
    id: str
    token: str
    instance_id: str
    argv: list[str]
    server: socket.socket
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        host, port = self.server.getsockname()[:2]
        return f"tcp://{host}:{port}/v1/data-channel/{self.id}"


_SESSIONS: dict[str, Session] = {}
_LOCK = threading.Lock()


def start(hosting: Hosting, instance_id: str, argv: list[str]) -> Session:
    """A session that runs `argv` on the instance once its client connects (within CONNECT_SECONDS)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(CONNECT_SECONDS)
    session = Session(f"local-{secrets.token_hex(9)}", secrets.token_urlsafe(32), instance_id, argv, server)
    with _LOCK:
        _SESSIONS[session.id] = session
    threading.Thread(target=_serve, args=(hosting, session), name=f"ssm-{session.id}", daemon=True).start()
    return session


def terminate(session_id: str) -> bool:
    """End the session (its shell is hung up on); whether there was such a session still running."""
    with _LOCK:
        session = _SESSIONS.pop(session_id, None)
    if session is None:
        return False
    with contextlib.suppress(OSError):
        session.server.shutdown(socket.SHUT_RDWR)  # wakes a thread waiting in accept(): it listens no more
    session.server.close()
    if session.process is not None:
        processes.stop(session.process, timeout=2)
    return True


def _serve(hosting: Hosting, session: Session) -> None:
    try:
        connection, _ = session.server.accept()
    except OSError:  # nobody came in time, or the session was terminated
        terminate(session.id)
        return
    session.server.close()
    with connection:
        size = _handshake(connection, session.token)
        if size is not None:
            _run(hosting, session, connection, size)
    terminate(session.id)


def _handshake(connection: socket.socket, token: str) -> tuple[int, int] | None:
    """The terminal's (rows, columns) from the connection's first line, when it carries the session's token."""
    connection.settimeout(CONNECT_SECONDS)
    line = b""
    with contextlib.suppress(OSError):
        while not line.endswith(b"\n") and len(line) < HANDSHAKE_BYTES:
            chunk = connection.recv(1)
            if not chunk:
                break
            line += chunk
    try:
        hello = json.loads(line)
        if hmac.compare_digest(str(hello["TokenValue"]), token):
            return int(hello.get("rows") or 24), int(hello.get("cols") or 80)
    except (ValueError, KeyError, TypeError):
        pass
    with contextlib.suppress(OSError):
        connection.sendall(b"session refused: not this session's token\r\n")
    return None


def _run(hosting: Hosting, session: Session, connection: socket.socket, size: tuple[int, int]) -> None:
    """The shell under a new pseudo-terminal of the given size, bridged to the connection until it exits."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    try:
        session.process = hosting.spawn(session.instance_id, session.argv, "/", (slave, slave, slave),
                                        terminal=True)
    except CloudError as error:
        with contextlib.suppress(OSError):
            connection.sendall(f"{error}\r\n".encode())
        return
    finally:
        os.close(slave)
    try:
        _bridge(connection, master)
    finally:
        os.close(master)  # a hang-up for the shell, when it is still there
        processes.stop(session.process, timeout=2)
        session.process = None


def _bridge(connection: socket.socket, master: int) -> None:
    """Bytes both ways until the shell's terminal closes (it exited) or the client goes."""
    connection.settimeout(None)
    with selectors.DefaultSelector() as selector:
        selector.register(connection, selectors.EVENT_READ)
        selector.register(master, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is connection:
                    try:
                        data = connection.recv(65536)
                    except OSError:  # the client went away
                        return
                    if not data:  # the client has no more input: an end of file at the terminal
                        selector.unregister(connection)
                    os.write(master, data or EOF)
                    continue
                try:
                    output = os.read(master, 65536)
                except OSError:  # EIO: every process holding the terminal has ended
                    return
                if not output:
                    return
                try:
                    connection.sendall(output)
                except OSError:  # the client went away
                    return
