"""ModifyDBInstance's NewDBInstanceIdentifier, as RDS renames an instance.

moto moves its record to the new name at once, over an existing instance of that name too, and its replicas
and automated backups keep naming the old one. RDS (user guide, "Renaming a DB instance"): a name in use is
refused (DBInstanceAlreadyExists); the old DNS name goes at once and the renamed instance, which reboots, is
"renaming" until its new name answers; its read replicas stay its own; its automated backups are the
instance's and follow it, while its manual snapshots keep the name they were taken of. In a cloud that runs
data servers the instance's server restarts at the endpoint of its new name (data_stores.rename), so an
instance given the name of one renamed away answers where that one did: RDS's way to replace a database with
a restored copy behind its endpoint.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.moto_internals import RDSBackend, RDSClientError, once, replace
from eb_tools.cloud.rds_background import available_after


def register() -> None:
    once("rds_renames", lambda: replace(RDSBackend, "modify_db_instance",
                                        _renaming(RDSBackend.modify_db_instance)))


def _renaming(original: Callable[..., Any]) -> Callable[..., Any]:
    def modify_db_instance(backend: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        new = db_kwargs.get("new_db_instance_identifier")
        if not new:
            return original(backend, db_instance_identifier, db_kwargs)
        new = db_kwargs["new_db_instance_identifier"] = str(new).lower()  # RDS stores identifiers in lowercase
        old = backend.describe_db_instances(db_instance_identifier)[0].db_instance_identifier
        if new in backend.databases:
            raise RDSClientError("DBInstanceAlreadyExists", "DB instance already exists")
        database = original(backend, db_instance_identifier, db_kwargs)
        _follow(backend, database, old, new)
        stores = data_stores.current()
        if stores is not None and stores.database(old) is not None:
            _restart(database, stores, old, new)
        return database

    return modify_db_instance


def _follow(backend: Any, database: Any, old: str, new: str) -> None:
    """The renamed instance's replicas and automated backups name it anew."""
    for other in backend.databases.values():
        if other.source_db_instance_identifier == old:
            other.source_db_instance_identifier = new
    database.replicas = [new if name == old else name for name in database.replicas]
    if database.is_replica:
        source = backend.databases.get(database.source_db_instance_identifier)
        if source is not None:
            source.replicas = [new if name == old else name for name in source.replicas]
    for snapshot in backend.database_snapshots.values():
        if snapshot.db_instance_identifier == old and snapshot.snapshot_type == "automated":
            snapshot.db_instance_identifier = new


def _restart(database: Any, stores: data_stores.DataStores, old: str, new: str) -> None:
    """Reboot the instance's server at its new name's endpoint in the background, "renaming" meanwhile."""
    available_after(database, "renaming", "failed", lambda: stores.rename(old, new))
