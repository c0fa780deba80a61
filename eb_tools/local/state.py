"""Keep the local cloud's state in the data folder, so a second `eb_tools local` resumes.

moto keeps everything in memory, and CloudFormation names each run's buckets,
queues and secrets anew; so what the local stage owns is kept by its role (the
stage stack's output that names it), not by its name. On stop this writes to
`<data dir>/cloud/`: the objects of its buckets (uploads, variants, backups, EB
source bundles), the messages of its queues (read from moto's queues directly,
so messages in flight or waiting for a retry are kept too), the values of its
secrets (the Flask key: sessions outlive a restart) and the EB application
versions. On start, after provisioning, it puts them back into the resources
that now hold those roles.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eb_tools.aws import Target
from eb_tools.local.moto_internals import queue_messages

ACCOUNT = "123456789012"  # moto's default account, the local cloud's
FORMAT = 2  # state.json written by name, before roles, is not read back
MESSAGE_ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")  # what SendMessage takes back


@dataclass(frozen=True)
class Snapshot:
    """What the local stage owns, by role: {role: bucket name}, {role: queue URL}, {role: secret ARN}."""

    buckets: dict[str, str]
    queues: dict[str, str]
    secrets: dict[str, str]
    application: str


def save(target: Target, folder: Path, snapshot: Snapshot) -> None:
    s3, eb = target.client("s3"), target.client("elasticbeanstalk")
    draft = folder.with_name(folder.name + ".saving")
    shutil.rmtree(draft, ignore_errors=True)
    objects = []
    for role, bucket in snapshot.buckets.items():
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket, Key=item["Key"])
                path = draft / "s3" / role / item["Key"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(got["Body"].read())
                objects.append({"role": role, "key": item["Key"], "content_type": got.get("ContentType", ""),
                                "cache_control": got.get("CacheControl", "")})
    messages = {}
    for role, url in snapshot.queues.items():
        found = queue_messages(ACCOUNT, target.region, url.rstrip("/").rsplit("/", 1)[-1])
        if found is not None:
            messages[role] = [{"body": body, "attributes": attributes} for body, attributes in found]
    secrets = {role: target.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
               for role, arn in snapshot.secrets.items()}
    described = eb.describe_application_versions(ApplicationName=snapshot.application)["ApplicationVersions"]
    versions = [{"label": v["VersionLabel"], "description": v.get("Description", ""), "key": v["SourceBundle"]["S3Key"]}
                for v in described]
    draft.mkdir(parents=True, exist_ok=True)
    manifest = draft / "state.json"
    manifest.touch(mode=0o600)  # it holds the secrets' values
    manifest.write_text(json.dumps({"format": FORMAT, "objects": objects, "messages": messages, "secrets": secrets,
                                    "application": snapshot.application, "versions": versions}, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    draft.rename(folder)


def restore(target: Target, folder: Path, snapshot: Snapshot) -> int:
    """Put a saved state back into the resources holding its roles now; return how many objects and
    messages it restored."""
    manifest = folder / "state.json"
    if not manifest.is_file():
        return 0
    state: dict[str, Any] = json.loads(manifest.read_text())
    if state.get("format") != FORMAT:
        return 0
    s3, sqs = target.client("s3"), target.client("sqs")
    for role, value in state["secrets"].items():
        if role in snapshot.secrets:
            target.client("secretsmanager").put_secret_value(SecretId=snapshot.secrets[role], SecretString=value)
    objects = [item for item in state["objects"] if item["role"] in snapshot.buckets]
    for item in objects:
        extra = {k: v for k, v in (("ContentType", item["content_type"]), ("CacheControl", item["cache_control"])) if v}
        s3.put_object(Bucket=snapshot.buckets[item["role"]], Key=item["key"],
                      Body=(folder / "s3" / item["role"] / item["key"]).read_bytes(), **extra)
    restored = len(objects)
    for role, messages in state["messages"].items():
        for message in messages if role in snapshot.queues else []:
            attributes = {name: {key: value for key, value in attribute.items() if key in MESSAGE_ATTRIBUTE_FIELDS}
                          for name, attribute in (message["attributes"] or {}).items()}
            sqs.send_message(QueueUrl=snapshot.queues[role], MessageBody=message["body"], MessageAttributes=attributes)
            restored += 1
    _restore_versions(target, state, snapshot)
    return restored


def _restore_versions(target: Target, state: dict[str, Any], snapshot: Snapshot) -> None:
    eb, storage = target.client("elasticbeanstalk"), snapshot.buckets.get("EBStorage")
    if state["application"] != snapshot.application or storage is None:
        return
    existing = {v["VersionLabel"] for v in eb.describe_application_versions(
        ApplicationName=snapshot.application)["ApplicationVersions"]}
    for version in reversed(state["versions"]):  # oldest first, so the newest stays newest
        if version["label"] not in existing:
            eb.create_application_version(ApplicationName=snapshot.application, VersionLabel=version["label"],
                                          Description=version["description"],
                                          SourceBundle={"S3Bucket": storage, "S3Key": version["key"]})
