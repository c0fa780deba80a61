"""RDS's snapshots and restores, real in a cloud that runs data servers (data_stores/backups.py).

moto keeps snapshots and restored instances as records: a snapshot is "available" at once and a restore is a
copy of the record. Here, in a cloud with a data folder:
- CreateDBSnapshot answers "creating" and dumps the instance's server in the background, then the snapshot is
  "available" ("failed" when the dump fails); the automated snapshot moto records when an instance is created
  is dumped as soon as the instance's server runs (RDS's first backup of a new instance);
- RestoreDBInstanceFromDBSnapshot and RestoreDBInstanceToPointInTime answer "creating" and start a new server
  at an endpoint of its own, loaded from the dump (and, to a point in time, the source's binary log replayed
  up to it); the instance is then "available", or "incompatible-restore", RDS's status for a restore that
  cannot complete (RDS user guide, "Viewing Amazon RDS DB instance status");
- a point in time must lie in the restore window: from the instance's earliest automated backup to its latest
  restorable time (now: the binary log is written as it goes), as DescribeDBInstanceAutomatedBackups'
  RestoreWindow gives it (moto lacks that field); outside it RDS refuses with InvalidRestoreFault, and an
  instance without backups (BackupRetentionPeriod 0) with PointInTimeRestoreNotEnabled (botocore's RDS model:
  RestoreDBInstanceToPointInTime's errors, RestoreTime "must be before the latest restorable time");
- DeleteDBInstance of a restored instance stops its server and removes its data; DeleteDBSnapshot its dump;
- DeleteDBInstance with a FinalDBSnapshotIdentifier (what CloudFormation asks under a Snapshot deletion policy)
  dumps the server before it stops, the snapshot "available" once the instance is gone (a dump that fails
  leaves the instance as it was), and then removes the instance's data folder: its data lives on in the final
  snapshot, and a new instance of the same stack and logical id starts empty, as in RDS.
"""
from __future__ import annotations

import datetime
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eb_tools.cloud.data_stores import backups
from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.data_stores.host import DataStores
from eb_tools.cloud.data_stores.mariadb import MariaDB
from eb_tools.cloud.moto_internals import (
    BACKENDS,
    RDSAutomatedBackup,
    RDSBackend,
    RDSClientError,
    once,
    replace,
)
from eb_tools.cloud.rds_background import available_after
from eb_tools.errors import CloudError


def register() -> None:
    once("rds_backups", _install)


def _install() -> None:
    create = RDSBackend.create_db_snapshot
    replace(RDSBackend, "create_db_snapshot", _snapshotting(create))
    replace(RDSBackend, "delete_db_snapshot", _deleting_snapshot(RDSBackend.delete_db_snapshot))
    replace(RDSBackend, "restore_db_instance_from_db_snapshot",
            _restoring_snapshot(RDSBackend.restore_db_instance_from_db_snapshot))
    replace(RDSBackend, "restore_db_instance_to_point_in_time",
            _restoring_to_time(RDSBackend.restore_db_instance_to_point_in_time))
    replace(RDSBackend, "delete_db_instance", _deleting_instance(RDSBackend.delete_db_instance, create))
    RDSAutomatedBackup.restore_window = property(_restore_window)  # type: ignore[attr-defined]  # moto lacks it


def back_up_new_instance(backend: Any, identifier: str, stores: DataStores) -> None:
    """Dump the automated snapshots of `identifier` that have no dump yet: the one moto records at its creation,
    before its server ran (called with the backends held, by a stack's creation)."""
    server = stores.database(identifier)
    if server is not None:
        for folder in _undumped(backend, identifier, stores):
            backups.take(server, folder)


def _undumped(backend: Any, identifier: str, stores: DataStores) -> list[Path]:
    folders = [stores.backup_folder(s.db_snapshot_identifier) for s in backend.database_snapshots.values()
               if s.db_instance_identifier == identifier and s.snapshot_type == "automated"]
    return [folder for folder in folders if backups.Backup.read(folder) is None]


def _snapshotting(create: Callable[..., Any]) -> Callable[..., Any]:
    def create_db_snapshot(self: Any, db_instance_identifier: str, db_snapshot_identifier: str,
                           snapshot_type: str = "manual", *args: Any, **kwargs: Any) -> Any:
        snapshot = create(self, db_instance_identifier, db_snapshot_identifier, snapshot_type, *args, **kwargs)
        stores = data_stores.current()
        server = stores.database(db_instance_identifier) if stores is not None else None
        if stores is None or server is None:
            return snapshot  # a record only; an automated one of a new instance: back_up_new_instance
        snapshot.status = "creating"
        folder = stores.backup_folder(snapshot.db_snapshot_identifier)
        threading.Thread(target=_dump, args=(snapshot, server, folder), daemon=True,
                         name=f"snapshot-{db_snapshot_identifier}").start()
        return snapshot

    return create_db_snapshot


def _dump(snapshot: Any, server: MariaDB, folder: Path) -> None:
    try:
        backups.take(server, folder)
        status = "available"
    except CloudError:
        status = "failed"
    with BACKENDS:
        snapshot.status = status


def _deleting_snapshot(delete: Callable[..., Any]) -> Callable[..., Any]:
    def delete_db_snapshot(self: Any, db_snapshot_identifier: str) -> Any:
        snapshot = delete(self, db_snapshot_identifier)
        stores = data_stores.current()
        if stores is not None:
            shutil.rmtree(stores.backup_folder(snapshot.db_snapshot_identifier), ignore_errors=True)
        return snapshot

    return delete_db_snapshot


def _deleting_instance(delete: Callable[..., Any], create: Callable[..., Any]) -> Callable[..., Any]:
    def delete_db_instance(self: Any, db_instance_identifier: str, final_db_snapshot_identifier: str | None = None,
                           skip_final_snapshot: bool | None = False, *args: Any, **kwargs: Any) -> Any:
        stores = data_stores.current()
        server = stores.database(db_instance_identifier) if stores is not None else None
        final = final_db_snapshot_identifier if not skip_final_snapshot else None
        if stores is None or server is None or final is None:
            database = delete(self, db_instance_identifier, final_db_snapshot_identifier, skip_final_snapshot,
                              *args, **kwargs)
            if stores is not None:
                stores.stop(db_instance_identifier)
            return database
        if self.describe_db_instances(db_instance_identifier)[0].deletion_protection:
            return delete(self, db_instance_identifier, final, False, *args, **kwargs)  # refused as RDS refuses
        snapshot = create(self, db_instance_identifier, final, "manual")
        try:
            backups.take(server, stores.backup_folder(snapshot.db_snapshot_identifier))
        except CloudError:
            self.database_snapshots.pop(snapshot.db_snapshot_identifier, None)
            raise
        database = delete(self, db_instance_identifier, None, True, *args, **kwargs)
        stores.discard(db_instance_identifier)
        return database

    return delete_db_instance


def _restoring_snapshot(restore: Callable[..., Any]) -> Callable[..., Any]:
    def restore_db_instance_from_db_snapshot(self: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        stores = data_stores.current()
        if stores is None:
            return restore(self, from_snapshot_id, overrides)
        name = self.extract_snapshot_name_from_arn(from_snapshot_id) if from_snapshot_id.startswith("arn:") \
            else from_snapshot_id
        snapshot = self.get_db_snapshot(name)
        backup = backups.Backup.read(stores.backup_folder(snapshot.db_snapshot_identifier))
        if snapshot.status != "available" or backup is None:
            raise RDSClientError("InvalidDBSnapshotState", f"DB snapshot {name} is {snapshot.status}, not "
                                 "available: wait until it is")
        database = restore(self, from_snapshot_id, overrides)
        _start(database, stores, lambda server: backups.load(server, backup))
        return database

    return restore_db_instance_from_db_snapshot


def _restoring_to_time(restore: Callable[..., Any]) -> Callable[..., Any]:
    def restore_db_instance_to_point_in_time(self: Any, source_db_identifier: str, target_db_identifier: str,
                                             overrides: dict[str, Any]) -> Any:
        stores = data_stores.current()
        source = self.describe_db_instances(source_db_identifier)[0]  # DBInstanceNotFound as RDS
        server = stores.database(source.db_instance_identifier) if stores is not None else None
        if stores is None or server is None:
            return restore(self, source_db_identifier, target_db_identifier, overrides)
        if not source.backup_retention_period:
            raise RDSClientError("PointInTimeRestoreNotEnabled", f"DB instance {source_db_identifier} has "
                                 "BackupRetentionPeriod 0: it keeps no backups to restore from")
        until = _restore_time(overrides)
        base = _base_backup(self, stores, source.db_instance_identifier, until)
        database = restore(self, source_db_identifier, target_db_identifier, overrides)

        def fill(restored: MariaDB) -> None:
            backups.load(restored, base)
            backups.replay(restored, server.data, base, until)

        _start(database, stores, fill)
        return database

    return restore_db_instance_to_point_in_time


def _restore_time(overrides: dict[str, Any]) -> datetime.datetime:
    if overrides.get("use_latest_restorable_time"):
        return datetime.datetime.now(datetime.UTC)
    given = overrides.get("restore_time")
    if given is None:
        raise RDSClientError("InvalidParameterCombination", "Either RestoreTime or UseLatestRestorableTime must "
                             "be specified")
    when = given if isinstance(given, datetime.datetime) else datetime.datetime.fromisoformat(str(given))
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def _automated_backups(backend: Any, stores: DataStores, identifier: str, automated_only: bool
                       ) -> list[backups.Backup]:
    """The dumps of the instance's snapshots (its automated ones only, or every one), oldest first."""
    found = [backups.Backup.read(stores.backup_folder(s.db_snapshot_identifier))
             for s in backend.database_snapshots.values()
             if s.db_instance_identifier == identifier and (s.snapshot_type == "automated" or not automated_only)]
    return sorted((b for b in found if b is not None), key=lambda b: b.taken)


def _base_backup(backend: Any, stores: DataStores, identifier: str, until: datetime.datetime) -> backups.Backup:
    """The latest dump of the instance taken at or before `until`, which must lie in the restore window."""
    automated = _automated_backups(backend, stores, identifier, automated_only=True)
    now = datetime.datetime.now(datetime.UTC)
    if not automated or not automated[0].taken <= until <= now:
        window = f"{automated[0].taken.isoformat()} to {now.isoformat()}" if automated else "empty"
        raise RDSClientError("InvalidRestoreFault", f"The restore time {until.isoformat()} is outside DB instance "
                             f"{identifier}'s restore window ({window})")
    return [b for b in _automated_backups(backend, stores, identifier, False) if b.taken <= until][-1]


def _restore_window(self: Any) -> dict[str, datetime.datetime] | None:
    """DescribeDBInstanceAutomatedBackups' RestoreWindow: the instance's earliest automated backup to now."""
    stores = data_stores.current()
    if stores is None:
        return None
    automated = _automated_backups(self.backend, stores, self.db_instance_identifier, automated_only=True)
    if not automated:
        return None
    return {"EarliestTime": automated[0].taken, "LatestTime": datetime.datetime.now(datetime.UTC)}


def _start(database: Any, stores: DataStores, fill: Callable[[MariaDB], object]) -> None:
    """Run the restored instance's server in the background: "creating" until it answers, loaded."""
    database.local_endpoint_address = None  # moto copied the source's record, the source's endpoint with it
    identifier, backend = database.db_instance_identifier, database.backend

    def start() -> tuple[str, int]:
        endpoint = stores.start_restored(identifier, database.port, fill)
        with BACKENDS:
            pending = _undumped(backend, identifier, stores)
        server = stores.database(identifier)
        for folder in pending:  # its first automated backup, as RDS takes one of a new instance
            if server is not None:
                backups.take(server, folder)
        return endpoint

    available_after(database, "creating", "incompatible-restore", start)
