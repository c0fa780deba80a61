"""A TCP proxy on 127.0.0.1 standing for the network between an app and a server, which the faults tests break.

It forwards to one upstream; `switch` leads new connections to another (an RDS endpoint's DNS name moving to
the standby in a Multi-AZ failover) after cutting every live one; `refuse` resets connections at once (a host
that is down); `blackhole` stops answering on existing and new connections alike (a network partition: packets
vanish, nothing is reset, only the client's own timeouts end the wait); `forward` returns to normal.
`refuse_matching` resets only the connections whose first bytes match, e.g. one AWS service's requests
among all that share the emulated endpoint (boto3 keeps a connection pool per client, so a connection
carries one service's requests only).
"""
from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from typing import Literal

from eb_tools.cloud.server import free_port

Mode = Literal["forward", "refuse", "blackhole"]
_CHUNK = 65536


def _reset(sock: socket.socket) -> None:
    """Close at once (RST, no lingering), as a failing-over endpoint does; shutdown first wakes the thread
    blocked reading it, which a bare close() from another thread would not."""
    for action in (
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
        lambda: sock.shutdown(socket.SHUT_RDWR),
        sock.close,
    ):
        with contextlib.suppress(OSError):
            action()


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.mode: Mode = "forward"
        self.refused: Callable[[bytes], bool] | None = None
        self.connections = 0  # accepted so far
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(self.address)
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        self.cut()

    def cut(self) -> int:
        """Reset every live connection, both sides; return how many sockets were closed."""
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _reset(sock)
        return len(sockets)

    def switch(self, upstream: tuple[str, int]) -> None:
        """Cut every connection to the old upstream; new connections go to `upstream`."""
        with self._lock:
            self.upstream = upstream
        self.cut()

    def set_mode(self, mode: Mode) -> None:
        """refuse cuts live connections too; blackhole silences them; forward leaves them as they are."""
        self.mode = mode
        if mode == "refuse":
            self.cut()
        elif mode == "forward":
            self.cut()  # connections silenced by a blackhole are broken streams: end them now

    def refuse_matching(self, refused: Callable[[bytes], bool] | None) -> None:
        """From now on reset each new connection whose first bytes match `refused` (None: none); live
        connections are cut, so that pooled ones reconnect and meet the rule."""
        self.refused = refused
        self.cut()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            if self.mode == "refuse":
                _reset(client)
                continue
            self._track(client)
            if self.mode == "blackhole":
                continue  # held open and silent until cut
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        first = b""
        refused = self.refused
        try:
            if refused is not None:
                client.settimeout(5)
                first = client.recv(_CHUNK)
                client.settimeout(None)
            if refused is not None and refused(first):
                raise ConnectionRefusedError
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
            if first:
                server.sendall(first)
        except OSError:
            _reset(client)  # the upstream is down or refused: the client sees a reset, as from a stopped server
            with self._lock:
                self._open.discard(client)
            return
        self._track(server)
        threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
        self._pump(client, server)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        """Copy one direction until either side closes; in a blackhole, bytes are read and dropped."""
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                if self.mode == "forward":
                    target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(target)
            _reset(source)
            _reset(target)
