"""What a restore drill verifies: the schema revision (Alembic's `alembic_version`) and the row count of each
of the app's tables (every base table of its database), as they were when the snapshot was taken.

`eb_tools db snapshot` reads them just before CreateDBSnapshot and again once the snapshot is available, and
records them as the snapshot's tags: a table's count must then lie between the two (equal when nothing wrote
meanwhile), since the snapshot's instant lies between them. Tags rather than an object in the backup bucket:
they live and die with the snapshot (no orphan to clean up, none missing), are copied with it
(CopyDBSnapshot's CopyTags), and are read with the same RDS permissions as the snapshot itself. RDS allows
50 tags per resource, keys up to 128 characters and values up to 256 (RDS user guide, "Tagging Amazon RDS
resources"): the app's few tables fit. Automated snapshots and points in time have no recorded figures; a
drill of one checks that the revision and the tables can be read, and says that nothing was compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eb_tools.data import probe

PREFIX = "eb-tools:"
STAGE_TAG = f"{PREFIX}stage"
LABEL_TAG = f"{PREFIX}label"
REVISION_TAG = f"{PREFIX}schema-revision"
ROWS_TAG = f"{PREFIX}rows:"
NO_REVISION = "none"  # a database Alembic never migrated


@dataclass(frozen=True)
class Counts:
    """One reading: the schema revision and {table: rows}, in one consistent read."""

    revision: str | None
    rows: dict[str, int]


def read(connection: Any) -> Counts:
    """The revision and exact row counts of the connection's database, read in one transaction's snapshot."""
    return Counts(*probe.read(connection))


@dataclass(frozen=True)
class Figures:
    """What was recorded at a snapshot: the revision and each table's (lowest, highest) count."""

    revision: str | None
    rows: dict[str, tuple[int, int]]

    @classmethod
    def around(cls, before: Counts, after: Counts) -> Figures:
        """The figures of a snapshot taken between two readings."""
        tables = sorted(set(before.rows) | set(after.rows))
        counts = {t: sorted((before.rows.get(t, 0), after.rows.get(t, 0))) for t in tables}
        return cls(after.revision, {t: (low, high) for t, (low, high) in counts.items()})

    def tags(self) -> list[dict[str, str]]:
        rows = [{"Key": f"{ROWS_TAG}{table}", "Value": str(low) if low == high else f"{low}-{high}"}
                for table, (low, high) in self.rows.items()]
        return [{"Key": REVISION_TAG, "Value": self.revision or NO_REVISION}, *rows]

    @classmethod
    def from_tags(cls, tags: list[dict[str, str]]) -> Figures | None:
        """The figures recorded in a snapshot's tags; None when it has none (an automated snapshot)."""
        found = {t["Key"]: t["Value"] for t in tags}
        if REVISION_TAG not in found:
            return None
        rows = {}
        for key, value in found.items():
            if key.startswith(ROWS_TAG):
                low, _, high = value.partition("-")
                rows[key.removeprefix(ROWS_TAG)] = (int(low), int(high or low))
        revision = found[REVISION_TAG]
        return cls(None if revision == NO_REVISION else revision, rows)


def problems(recorded: Figures, restored: Counts) -> list[str]:
    """How the restored database differs from the recorded figures (none: verified)."""
    found = []
    if restored.revision != recorded.revision:
        found.append(f"schema revision {restored.revision or NO_REVISION}, recorded {recorded.revision or NO_REVISION}")
    for table in sorted(set(recorded.rows) | set(restored.rows)):
        if table not in restored.rows:
            found.append(f"table {table} is missing")
        elif table not in recorded.rows:
            found.append(f"table {table} was not there at the snapshot")
        else:
            low, high = recorded.rows[table]
            if not low <= restored.rows[table] <= high:
                expected = str(low) if low == high else f"{low} to {high}"
                found.append(f"table {table} has {restored.rows[table]} rows, recorded {expected}")
    return found
