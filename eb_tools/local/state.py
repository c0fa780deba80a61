"""Keep the local cloud's state in the data folder, so a second `eb_tools local` resumes.

moto keeps everything in memory. On stop this writes `<data dir>/cloud/`:
Elastic Beanstalk's records (LocalCloud.export_records: applications,
versions, saved configurations, environments with their ids, events) and the
objects of EB's storage bucket (bundles, saved configurations, the release lock
and history); the mail SES has sent; and what the local stage owns. Each run's
stack names its buckets, queues and secrets anew, so the stage's things are kept
by role (the stage stack output that names them), not by name: the objects of
its buckets (uploads, variants, backups), the messages of its queues (read from
the cloud's queues directly, LocalCloud.queued_messages, so messages in flight or
waiting for a retry are kept too) and the values of its secrets (the Flask key:
sessions outlive a restart). Everything goes through AWS's APIs, except what
none gives, which LocalCloud's public methods do.

A second run puts them back in two steps. `restore_cloud`, as soon as the cloud
listens and before anything calls EB: EB's records, its storage bucket and the
mail, so `eb_tools provision` finds the stage's application and environments,
keeps their ids and updates only the settings that name this run's stack
resources, `eb events` shows the earlier runs' events and /moto-api/data.json
the mail sent before. `restore_stage`, once provision has made this run's stack:
the objects, messages and secrets into the resources that hold their roles now.
state.json carries a format number; a state this eb_tools cannot read is one
SavedStateError line saying what to do.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eb_tools.aws import Target
from eb_tools.cloud.server import LocalCloud
from eb_tools.errors import CloudError, SavedStateError

# 5: the stage's database and Redis are servers keeping their data in <data dir>/stores; 4 kept a SQLite app.db
# and file sessions beside the state (and every version of an object under its id; 3 only the current one).
FORMAT = 5
MANIFEST = "state.json"
EB_STORAGE = "EBStorage"  # the role of EB's storage bucket among the kept objects
MESSAGE_ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")  # what SendMessage takes back


@dataclass(frozen=True)
class StageResources:
    """What the local stage owns, by role: {role: bucket name}, {role: queue URL}, {role: secret ARN}."""

    buckets: dict[str, str]
    queues: dict[str, str]
    secrets: dict[str, str]


@dataclass(frozen=True)
class Saved:
    """A state read back from its folder."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def environments(self) -> int:
        """How many environments it keeps, terminated ones included."""
        return len(self.manifest["eb"].get("environments", {}))


def load(folder: Path) -> Saved | None:
    """The state kept in `folder`; None when there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    fix = f"move {folder} away to start the local cloud afresh (the database beside it is kept)"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SavedStateError(f"{path}: not a state eb_tools can read ({error}); {fix}") from None
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found == 4:  # its accounts and uploads' records are in app.db beside it, which nothing reads any more
        fix += f"; its accounts are in {folder.parent / 'app.db'}, a SQLite file the stage's MariaDB replaces"
    if found != FORMAT:
        raise SavedStateError(f"{path}: state format {found}, while this eb_tools reads format {FORMAT}; {fix}")
    return Saved(folder, manifest)


def save(cloud: LocalCloud, target: Target, folder: Path, resources: StageResources) -> None:
    """Write the state of `cloud` (`target` reaches it) into `folder` (replacing what was there only once it
    is all written)."""
    s3 = target.client("s3")
    draft = folder.with_name(folder.name + ".saving")
    shutil.rmtree(draft, ignore_errors=True)
    eb = cloud.export_records(target.region)  # first: it finishes operations
    storage = target.client("elasticbeanstalk").create_storage_location()["S3Bucket"]
    objects = []
    for role, bucket in {**resources.buckets, EB_STORAGE: storage}.items():
        for item in _versions(s3, bucket):
            got = s3.get_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
            path = draft / "s3" / role / item["Key"] / item["VersionId"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(got["Body"].read())
            objects.append({"role": role, "key": item["Key"], "version": item["VersionId"],
                            "content_type": got.get("ContentType", ""), "cache_control": got.get("CacheControl", "")})
    messages = {}
    for role, url in resources.queues.items():
        found = cloud.queued_messages(target.region, url)
        if found is not None:
            messages[role] = [{"body": body, "attributes": attributes} for body, attributes in found]
    secrets = {role: target.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
               for role, arn in resources.secrets.items()}
    draft.mkdir(parents=True, exist_ok=True)
    manifest = draft / MANIFEST
    manifest.touch(mode=0o600)  # it holds the secrets' values
    manifest.write_text(json.dumps({"format": FORMAT, "eb": eb, "mail": cloud.sent_mail(target.region),
                                    "objects": objects, "messages": messages, "secrets": secrets}, indent=1,
                                   default=str))
    shutil.rmtree(folder, ignore_errors=True)
    draft.rename(folder)


def restore_cloud(cloud: LocalCloud, target: Target, saved: Saved) -> int:
    """EB's records, EB's storage bucket and the sent mail, into `cloud` (`target` reaches it), which has
    just started; how many objects it restored."""
    try:
        cloud.restore_records(target.region, saved.manifest["eb"])
    except CloudError as error:
        raise SavedStateError(f"{saved.folder / MANIFEST}: {error}; move {saved.folder} away to start the local "
                         "cloud afresh") from None
    cloud.restore_sent_mail(target.region, saved.manifest["mail"])
    storage = target.client("elasticbeanstalk").create_storage_location()["S3Bucket"]
    return _put_objects(cloud, target, saved, {EB_STORAGE: storage})


def restore_stage(cloud: LocalCloud, target: Target, saved: Saved, resources: StageResources) -> int:
    """The stage's objects, messages and secrets into the resources holding their roles now; how many
    objects and messages it restored."""
    for role, value in saved.manifest["secrets"].items():
        if role in resources.secrets:
            target.client("secretsmanager").put_secret_value(SecretId=resources.secrets[role], SecretString=value)
    restored = _put_objects(cloud, target, saved, resources.buckets)
    sqs = target.client("sqs")
    for role, messages in saved.manifest["messages"].items():
        for message in messages if role in resources.queues else []:
            attributes = {name: {key: value for key, value in attribute.items() if key in MESSAGE_ATTRIBUTE_FIELDS}
                          for name, attribute in (message["attributes"] or {}).items()}
            sqs.send_message(QueueUrl=resources.queues[role], MessageBody=message["body"], MessageAttributes=attributes)
            restored += 1
    return restored


def _versions(s3: Any, bucket: str) -> list[dict[str, str]]:
    """Every version of every object (VersionId "null" in a bucket never versioned), each key's oldest first,
    so that putting them back in order leaves the same one current."""
    found: list[dict[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        found.extend({"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []))
    return list(reversed(found))  # S3 lists each key's versions newest first


def _put_objects(cloud: LocalCloud, target: Target, saved: Saved, buckets: dict[str, str]) -> int:
    """Put the saved versions back in order, each under the version id it had: AWS never renumbers a version,
    and the web app records the one it validated (uploads.s3_version_id)."""
    s3 = target.client("s3")
    objects = [item for item in saved.manifest["objects"] if item["role"] in buckets]
    for item in objects:
        extra = {k: v for k, v in (("ContentType", item["content_type"]), ("CacheControl", item["cache_control"])) if v}
        bucket = buckets[item["role"]]
        put = s3.put_object(Bucket=bucket, Key=item["key"],
                            Body=(saved.folder / "s3" / item["role"] / item["key"] / item["version"]).read_bytes(),
                            **extra)
        if put.get("VersionId", "null") != "null" and item["version"] != "null":
            cloud.keep_version_id(bucket, item["key"], put["VersionId"], item["version"])
    return len(objects)
