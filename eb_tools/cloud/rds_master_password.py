"""ModifyDBInstance's MasterUserPassword, real on a DB instance whose server runs here.

moto stores the new password on its record and no server ever sees it. Here the instance's MariaDB takes it
at once (ALTER USER, written to the binary log, so a read replica follows, as an RDS replica follows its
source's users), after RDS's password rule: printable ASCII but '/', '@', '"' and space (RDS API reference,
CreateDBInstance MasterUserPassword; the same applies to ModifyDBInstance).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.moto_internals import RDSBackend, once, replace
from eb_tools.cloud.moto_internals import RDSInvalidParameterValue as InvalidParameterValue

FORBIDDEN = frozenset('/@" ')


def register() -> None:
    once("rds_master_password", lambda: replace(RDSBackend, "modify_db_instance",
                                                _changing_password(RDSBackend.modify_db_instance)))


def _changing_password(original: Callable[..., Any]) -> Callable[..., Any]:
    def modify_db_instance(backend: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        password = db_kwargs.get("MasterUserPassword")
        if password is not None:
            _check(str(password))
        database = original(backend, db_instance_identifier, db_kwargs)
        stores = data_stores.current()
        if password is not None and stores is not None:
            stores.set_master_password(database.db_instance_identifier, database.master_username, str(password))
        return database
    return modify_db_instance


def _check(password: str) -> None:
    if not 8 <= len(password) <= 41 or any(c in FORBIDDEN or not 32 < ord(c) < 127 for c in password):
        raise InvalidParameterValue("The parameter MasterUserPassword is not a valid password. Only printable "
                                    "ASCII characters besides '/', '@', '\"', ' ' may be used, 8 to 41 of them.")
