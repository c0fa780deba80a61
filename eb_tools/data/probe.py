"""A database's figures read by SQL: its schema revision (Alembic's `alembic_version`) and the exact row count
of every base table, in one consistent read.

Standalone on purpose (the standard library, PyMySQL and boto3: what the app's virtualenv has): eb_tools
reads a database it can reach with `read`, and one it cannot (a private endpoint in AWS) by sending this
file's text to a worker instance through Run Command, where it runs in the app's environment as
`python -c ... HOST PORT DATABASE`, logs in with the secret the app gets (DB_SECRET_ARN) and prints the
figures as one JSON object.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any


def read(connection: Any) -> tuple[str | None, dict[str, int]]:
    """The revision and {table: rows} of the connection's database (alembic_version not counted)."""
    with connection.cursor() as cursor:
        cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                       "AND table_type = 'BASE TABLE' ORDER BY table_name")
        tables = [str(row[0]) for row in cursor.fetchall()]
        rows = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM `{table.replace('`', '``')}`")
            rows[table] = int(cursor.fetchone()[0])
        revision = None
        if "alembic_version" in rows:
            cursor.execute("SELECT version_num FROM alembic_version")
            found = cursor.fetchone()
            revision = str(found[0]) if found else None
        cursor.execute("COMMIT")
    rows.pop("alembic_version", None)
    return revision, rows


def main(host: str, port: str, database: str) -> int:
    """Print the figures of `database` at host:port as JSON, logging in with the app's DB_SECRET_ARN."""
    import boto3
    import pymysql

    arn = os.environ["DB_SECRET_ARN"]
    region = arn.split(":")[3]  # arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME
    secret = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=arn)["SecretString"]
    credentials = json.loads(secret)
    connection = pymysql.connect(host=host, port=int(port), user=credentials["username"],
                                 password=credentials["password"], database=database or None,
                                 connect_timeout=10, autocommit=True)
    with connection:
        revision, rows = read(connection)
    print(json.dumps({"revision": revision, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[-3:]))
