"""CreateDBInstanceReadReplica through RDS's API, real in a cloud that runs data servers.

moto records the replica, "available" at once, and no server follows the source. Here the replica is
"creating" until a new server, fed by the source's binary log, answers at the endpoint of its name (the one an
earlier replica of that name had: an RDS endpoint is a DNS name holding the identifier), then "available";
"incompatible-replica" (RDS's status for a replica that cannot follow its source) when it cannot start.
A stack's replica is started by its resource (cfn_resources/rds.py), which calls moto's backend directly.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.moto_internals import RDSResponse, once, replace
from eb_tools.cloud.rds_background import available_after


def register() -> None:
    once("rds_read_replicas", lambda: replace(RDSResponse, "create_db_instance_read_replica",
                                              _replicating(RDSResponse.create_db_instance_read_replica)))


def _replicating(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_db_instance_read_replica(response: Any) -> Any:
        answer = original(response)
        stores = data_stores.current()
        identifier = str(response._get_param("DBInstanceIdentifier")).lower()
        replica = response.backend.databases.get(identifier)
        source = replica.source_db_instance_identifier if replica is not None else None
        if stores is not None and replica is not None and stores.database(str(source)) is not None:
            _start(replica, stores, str(source))
        return answer

    return create_db_instance_read_replica


def _start(replica: Any, stores: data_stores.DataStores, source: str) -> None:
    replica.local_endpoint_address = None  # moto copied its source's record, the source's endpoint with it
    identifier = replica.db_instance_identifier
    available_after(replica, "creating", "incompatible-replica",
                    lambda: stores.start_replica(identifier, identifier, replica.port, source))
