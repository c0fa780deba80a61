"""Each stage's release history: the labels it ran, newest last, in Elastic Beanstalk's storage bucket.

EB keeps no such record (events expire, an environment knows only its current label), yet `rollback` needs
"the label before this one" and `versions --prune` must keep every label a rollback could need.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.stage.target import StageTarget

KEEP = 20  # entries per stage: far more than a rollback reaches back


def key(where: StageTarget) -> str:
    return f"eb_tools/{where.application}/{where.name}/history.json"


def read(where: StageTarget) -> list[dict[str, Any]]:
    """[{label, at, by, schema, database}] (see Release), oldest first; [] for a stage never released by
    eb_tools."""
    try:
        body = where.client("s3").get_object(Bucket=where.storage_bucket, Key=key(where))["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return []
        raise
    return list(json.loads(body))


@dataclass(frozen=True)
class Release:
    """What the history records of a release: the label the stage now runs, after `how` (deploy, promote from
    X, rollback), the schema revision its code expects and the one the database is at after it (the
    migrations of every label the stage ran), when known."""

    label: str
    how: str
    schema: str | None = None
    database: str | None = None


def record(where: StageTarget, release: Release) -> None:
    """Append `release` to the stage's history; called under the stage lock."""
    entries = read(where)
    if entries and entries[-1]["label"] == release.label:
        return
    entry = {"label": release.label, "at": datetime.now(UTC).isoformat(timespec="seconds"), "by": release.how}
    entries.append(entry | {k: v for k, v in (("schema", release.schema), ("database", release.database)) if v})
    where.client("s3").put_object(Bucket=where.storage_bucket, Key=key(where),
                                  Body=json.dumps(entries[-KEEP:], indent=1).encode())


def previous(where: StageTarget, current: str | None) -> str | None:
    """The last label the stage ran before `current`."""
    for entry in reversed(read(where)):
        if entry["label"] != current:
            return str(entry["label"])
    return None
