"""The data servers of one local cloud, under its data folder, by the resource that made each.

A server's folder is named after its resource's CloudFormation name without the random suffix CloudFormation
adds (`<stack>-<logical id>`), so the next cloud's stack of the same name finds the data of the last one, as
the local stage's resumed runs need; the folder stays when the resource is deleted, except a read replica's,
which holds no data of its own, an instance restored from a snapshot through RDS's API (named by its
identifier), deleted as RDS deletes one, and an instance deleted with a final snapshot (a stack's Snapshot
deletion policy: rds_backups), whose data lives on in that snapshot.
DB snapshots' dumps live beside them, in rds-snapshots/.

An endpoint is its instance's DNS name: in RDS the name holds the identifier, so each identifier keeps its
loopback address, and an instance renamed to a name that had one answers there (rename()); its data moves to
that name's folder, so a stack's instance replaced by a renamed restore keeps the restored data in the next run.
"""
from __future__ import annotations

import re
import secrets
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from eb_tools.cloud.data_stores import loopback
from eb_tools.cloud.data_stores.mariadb import MariaDB
from eb_tools.cloud.data_stores.redis import Redis
from eb_tools.cloud.data_stores.tls import LocalCA
from eb_tools.cloud.per_request import PerRequest
from eb_tools.errors import CloudError

GENERATED_SUFFIX = re.compile(r"-[A-Z0-9]{8,}$")


def data_key(name: str) -> str:
    """`name` without CloudFormation's random suffix, lower case: where its data lives."""
    return GENERATED_SUFFIX.sub("", name).lower()


class DataStores:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = LocalCA(folder / "ca")
        self._databases: dict[str, MariaDB] = {}
        self._redis: dict[str, Redis] = {}
        self._replicas: set[str] = set()
        self._sources: dict[str, str] = {}  # each read replica's source instance
        self._restored: set[str] = set()  # instances whose data goes when deleted (restored, renamed away)
        self._homes: dict[str, Path] = {}  # each DB instance identifier's data folder
        self._addresses: dict[str, tuple[str, int]] = {}  # each DB instance identifier's endpoint (its DNS name)
        self._taken: set[str] = set()
        self._lock = threading.Lock()
        self._replication_password = secrets.token_hex(16)

    def start_database(self, identifier: str, name: str, port: int, user: str, password: str,
                       database: str | None) -> tuple[str, int]:
        """A writer for DB instance `identifier` (made from resource `name`); its endpoint."""
        server = self._new_database(identifier, name, port, server_id=1, read_only=False)
        try:
            server.start()
            server.set_master_user(user, password, database)
            server.allow_replicas(self._replication_password)
        except Exception:
            self.stop(identifier)
            raise
        return server.host, server.port

    def start_replica(self, identifier: str, name: str, port: int, source: str) -> tuple[str, int]:
        """A read replica of DB instance `source`, fed by its binary log; its endpoint."""
        writer = self._databases.get(source)
        if writer is None:
            raise CloudError(f"DB instance {source} has no server in the local cloud to replicate from")
        server = self._new_database(identifier, name, port, server_id=2 + len(self._replicas), read_only=True)
        self._replicas.add(identifier)
        self._sources[identifier] = source
        try:
            fresh = not server.created
            server.start()
            server.replicate_from(writer, self._replication_password, fresh)
        except Exception:
            self.stop(identifier)
            raise
        return server.host, server.port

    def start_restored(self, identifier: str, port: int, fill: Callable[[MariaDB], object]) -> tuple[str, int]:
        """A new writer for DB instance `identifier`, restored from a backup: made empty, then `fill`ed (a
        dump loaded, a binary log replayed) before the instance is available; its endpoint."""
        shutil.rmtree(self.folder / "rds" / data_key(identifier), ignore_errors=True)  # a deleted one's leftovers
        server = self._new_database(identifier, identifier, port, server_id=1, read_only=False)
        self._restored.add(identifier)
        try:
            server.start()
            fill(server)
            server.allow_replicas(self._replication_password)
        except Exception:
            self.stop(identifier)
            raise
        return server.host, server.port

    def database(self, identifier: str) -> MariaDB | None:
        """The server of DB instance `identifier`, if it runs one."""
        return self._databases.get(identifier)

    def backup_folder(self, snapshot: str) -> Path:
        """Where the dump of DB snapshot `snapshot` lives (kept as long as the data folder)."""
        return self.folder / "rds-snapshots" / snapshot.replace(":", "_")

    def _new_database(self, identifier: str, name: str, port: int, server_id: int, read_only: bool) -> MariaDB:
        with self._lock:
            host, port = self._address(identifier, port)
            folder = self._homes.setdefault(identifier, self.folder / "rds" / data_key(name))
            server = MariaDB(folder, host, port, server_id, read_only)
            self._databases[identifier] = server
        return server

    def _address(self, identifier: str, port: int) -> tuple[str, int]:
        """The endpoint of DB instance `identifier`: the one it had, else a new one (called with the lock)."""
        if identifier not in self._addresses:
            self._addresses[identifier] = loopback.endpoint(port, self._taken)
        return self._addresses[identifier]

    def rename(self, old: str, new: str) -> tuple[str, int]:
        """DB instance `old` is now `new`: its server restarts (RDS reboots a renamed instance) at the endpoint
        of `new`, its data moved to `new`'s folder, and its replicas follow it there; its endpoint."""
        server = self._databases[old]
        server.stop()
        with self._lock:
            kept = new in self._homes and new not in self._restored  # the home of a stack's instance
            folder = self._homes.setdefault(new, self.folder / "rds" / new)
            host, port = self._address(new, server.port)
            moved = MariaDB(_moved(server.directory, folder), host, port, server.server_id, server.read_only)
            del self._databases[old]
            self._databases[new] = moved
            for flags in (self._replicas, self._restored):
                if old in flags:
                    flags.discard(old)
                    flags.add(new)
            if not kept:
                self._restored.add(new)
            else:
                self._restored.discard(new)
        moved.start()
        self._sources = {replica: new if source == old else source
                         for replica, source in self._sources.items() if replica != old} | (
            {new: self._sources[old]} if old in self._sources else {})
        for replica, source in self._sources.items():
            if source == new and replica in self._databases:
                self._databases[replica].replicate_from(moved, self._replication_password, fresh=False)
        return host, port

    def start_redis(self, group: str, name: str, port: int, auth_token: str | None, tls: bool) -> tuple[str, int]:
        """The primary node of replication group `group`; its endpoint."""
        with self._lock:
            host, port = loopback.endpoint(port, self._taken)
            folder = self.folder / "elasticache" / data_key(name)
            server = Redis(folder, host, port, auth_token, self.ca.issue(host, folder / "tls") if tls else None)
            self._redis[group] = server
        try:
            server.start()
        except Exception:
            self.stop(group)
            raise
        return host, port

    def set_master_password(self, identifier: str, user: str, password: str) -> None:
        """DB instance `identifier`'s master user logs in with `password` from now on (its replicas follow
        through the binary log); nothing for an instance without a server here."""
        server = self._databases.get(identifier)
        if server is not None and identifier not in self._replicas:
            server.set_master_user(user, password, None)

    def redis_tokens(self, group: str) -> list[str]:
        """The AUTH tokens replication group `group`'s server accepts now (none without a server)."""
        server = self._redis.get(group)
        return list(server.tokens) if server is not None else []

    def set_redis_tokens(self, group: str, tokens: list[str]) -> None:
        """The AUTH tokens replication group `group`'s server accepts from now on (it has none: nothing)."""
        server = self._redis.get(group)
        if server is not None:
            server.set_tokens(tokens)

    def stop(self, identifier: str) -> None:
        """Stop the server of a deleted resource (a replica's data goes with it)."""
        self._stop(identifier, deleted=True)

    def discard(self, identifier: str) -> None:
        """Stop the server of a deleted DB instance and remove its data (kept in a final snapshot)."""
        server = self._databases.get(identifier)
        self._stop(identifier, deleted=True)
        if server is not None:
            shutil.rmtree(server.directory, ignore_errors=True)

    def stop_all(self) -> None:
        """Stop every server, keeping all their data (the cloud stops; the next one resumes them)."""
        for identifier in [*self._redis, *sorted(self._replicas), *self._databases]:
            self._stop(identifier, deleted=False)

    def _stop(self, identifier: str, deleted: bool) -> None:
        server: MariaDB | Redis | None = self._databases.pop(identifier, None) or self._redis.pop(identifier, None)
        if server is None:
            return
        server.stop()  # its address stays its identifier's, as a DNS name does
        if identifier in self._replicas or identifier in self._restored:
            self._replicas.discard(identifier)
            self._restored.discard(identifier)
            if deleted:
                self._sources.pop(identifier, None)
                shutil.rmtree(server.directory, ignore_errors=True)


def _moved(folder: Path, to: Path) -> Path:
    """`folder` (a stopped server's) moved to `to`, its binary log's index following (MariaDB writes the
    log's absolute path in it); `to`."""
    if folder == to:
        return to
    shutil.rmtree(to, ignore_errors=True)  # an earlier instance's of that name: the name's data is now ours
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(folder, to)
    index = to / "data" / "binlog.index"
    if index.exists():
        index.write_text(index.read_text().replace(str(folder / "data"), str(to / "data")))
    return to


# The data servers of the cloud serving the current request; None for a cloud that runs none (per_request.py).
_STORES: PerRequest[DataStores | None] = PerRequest("local_cloud_data_stores", lambda: None)
current = _STORES.current
serving_with = _STORES.serving
