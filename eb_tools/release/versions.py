"""Application versions: registered once from a bundle, copied byte for byte into another account or
application, listed, and pruned without ever removing a label that is running or that a rollback needs.

A label means the same bytes everywhere: a label already registered with other bytes is refused rather than
silently deployed (labels are unique per application; a version belongs to one application in one region).
"""
from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.errors import ReleaseError
from eb_tools.release import tier_state
from eb_tools.stage import ebenv, history
from eb_tools.stage.target import StageTarget

DESCRIPTION_LIMIT = 200  # EB's limit on a version's description
HISTORY_KEPT = 3  # releases per stage whose labels prune keeps: what rollback --label reaches for in practice


@dataclass(frozen=True)
class Stored:
    """A registered version and where its bundle is."""

    label: str
    bucket: str
    key: str


def find(where: StageTarget, label: str) -> Stored | None:
    eb = where.client("elasticbeanstalk")
    found = eb.describe_application_versions(ApplicationName=where.application, VersionLabels=[label])
    for version in found["ApplicationVersions"]:
        bundle = version.get("SourceBundle") or {}
        return Stored(label, bundle.get("S3Bucket", ""), bundle.get("S3Key", ""))
    return None


def _sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def register(where: StageTarget, label: str, data: bytes, description: str) -> Stored:
    """Version `label` of these bytes in the stage's application: uploaded once (S3 checks the SHA-256 on
    arrival), registered once; an existing label must hold the same bytes."""
    eb, s3 = where.client("elasticbeanstalk"), where.client("s3")
    if not eb.describe_applications(ApplicationNames=[where.application])["Applications"]:
        eb.create_application(ApplicationName=where.application, Description=ebenv.APPLICATION_DESCRIPTION)
    existing = find(where, label)
    if existing:
        stored = read_bundle(where, existing)
        if stored != data:
            raise ReleaseError(f"version {label} already exists in application {where.application} "
                               f"({where.target.region}) with other contents; give this build another --label")
        return existing
    bucket, key = where.storage_bucket, f"{where.application}/{label}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256", ChecksumSHA256=_sha256(data))
    try:
        eb.create_application_version(ApplicationName=where.application, VersionLabel=label, Process=True,
                                      Description=description[:DESCRIPTION_LIMIT],
                                      SourceBundle={"S3Bucket": bucket, "S3Key": key})
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TooManyApplicationVersionsException":
            raise
        s3.delete_object(Bucket=bucket, Key=key)
        raise ReleaseError(f"version {label}: Elastic Beanstalk refused it, the account has reached its limit of "
                           f"application versions in {where.target.region}; free some with "
                           "eb_tools versions --prune (it keeps every label a stage runs or may roll back to)") \
            from None
    return Stored(label, bucket, key)


def read_bundle(where: StageTarget, stored: Stored) -> bytes | None:
    """The bundle's bytes, None when its object is gone."""
    s3 = where.client("s3")
    try:
        return bytes(s3.get_object(Bucket=stored.bucket, Key=stored.key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def member(data: bytes, name: str) -> bytes | None:
    """A file of a bundle's bytes; None when the bundle is no zip or lacks it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(name)
    except (zipfile.BadZipFile, KeyError):
        return None


def bundle_of(where: StageTarget, label: str) -> bytes | None:
    """The bytes of `label`'s bundle in `where`'s application; None when it has no such version or bundle."""
    stored = find(where, label)
    return read_bundle(where, stored) if stored is not None else None


def ensure(source: StageTarget, destination: StageTarget, label: str, echo: Callable[[str], None]) -> Stored:
    """`label` registered in `destination`'s application: as it is when it exists there (same application and
    region), else its bytes copied from `source`, their checksum verified, and the same label registered."""
    found = find(destination, label)
    if found:
        return found
    origin = find(source, label)
    data = read_bundle(source, origin) if origin else None
    if origin is None or data is None:
        raise ReleaseError(f"version {label} is not in application {destination.application} "
                           f"({destination.target.region}) and stage {source.name} has no bundle of it to copy; "
                           f"deploy it to {destination.name} with eb_tools deploy --label {label}")
    echo(f"copying version {label} ({len(data)} bytes) from stage {source.name} to stage {destination.name}")
    stored = register(destination, label, data, f"promoted from {source.name}")
    copied = read_bundle(destination, stored)
    if copied is None or hashlib.sha256(copied).digest() != hashlib.sha256(data).digest():
        raise ReleaseError(f"version {label}: the copy in {stored.bucket}/{stored.key} does not match the "
                           f"bundle of stage {source.name}; nothing was deployed, run promote again")
    echo(f"  sha256 {hashlib.sha256(data).hexdigest()} verified in {stored.bucket}/{stored.key}")
    return stored


def in_use(group: list[StageTarget]) -> dict[str, set[str]]:
    """{label: who needs it}: every live environment of the application (by name) that names it or has an
    instance running it, and every stage of `group` whose recent history has it (a rollback may go there)."""
    where = group[0]
    eb = where.client("elasticbeanstalk")
    names = {e["EnvironmentName"]: e["EnvironmentName"] for e in eb.describe_environments(
        ApplicationName=where.application, IncludeDeleted=False)["Environments"]}
    needs: dict[str, set[str]] = {}
    for state in tier_state.read(eb, where.application, names).values():
        for label in {state.label, *state.instances} - {None, "?"}:
            needs.setdefault(str(label), set()).add(state.environment)
    for stage in group:
        for entry in history.read(stage)[-HISTORY_KEPT:]:
            needs.setdefault(str(entry["label"]), set()).add(f"stage {stage.name} (history)")
    return needs


def listing(where: StageTarget) -> list[dict[str, Any]]:
    """The application's versions, newest first."""
    eb = where.client("elasticbeanstalk")
    versions: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = eb.describe_application_versions(ApplicationName=where.application, MaxRecords=1000, **token)
        versions.extend(page["ApplicationVersions"])
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    return sorted(versions, key=lambda v: v["DateCreated"], reverse=True)


def groups(wheres: list[StageTarget]) -> list[list[StageTarget]]:
    """Stages sharing one application's versions (same application, credentials, region and endpoint)."""
    found: dict[tuple[str, str | None, str | None, str, str | None], list[StageTarget]] = {}
    for where in wheres:
        found.setdefault((where.application, where.stage.profile, where.stage.account, where.target.region,
                          where.target.endpoint_url), []).append(where)
    return list(found.values())


def survey(group: list[StageTarget], keep: int | None) -> list[dict[str, Any]]:
    """The application's versions, newest first, each with what needs it; with `keep`, those to prune are
    marked: all but the `keep` newest, never one that something needs. The credentials' account is checked
    first."""
    group[0].verify()
    needs = in_use(group)
    rows = []
    for n, version in enumerate(listing(group[0])):
        label = version["VersionLabel"]
        used_by = sorted(needs.get(label, set()))
        rows.append({"label": label, "created": version["DateCreated"].isoformat(), "used_by": used_by,
                     "pruned": keep is not None and n >= keep and not used_by})
    return rows


def delete(where: StageTarget, labels: list[str], echo: Callable[[str], None]) -> None:
    eb = where.client("elasticbeanstalk")
    for label in labels:
        eb.delete_application_version(ApplicationName=where.application, VersionLabel=label, DeleteSourceBundle=True)
        echo(f"deleted version {label}")
