"""Keep the local cloud's state in the data folder, so a second `eb_tools local` resumes.

moto keeps everything in memory. On stop this writes what the local stage owns
to `<data dir>/cloud/`: the objects of its buckets (uploads, variants, backups,
EB source bundles), the messages of its queues (read from moto's queues directly,
so messages in flight or waiting for a retry are kept too), and the EB
application versions. On start it puts them back before anything else runs.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from moto.sqs.models import sqs_backends

from eb_tools.aws import LOCAL_REGION, local_client

ACCOUNT = "123456789012"  # moto's default account, the local cloud's
MESSAGE_ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")  # what SendMessage takes back


@dataclass(frozen=True)
class Snapshot:
    """What the local stage owns, so what a stop keeps."""

    buckets: list[str]
    queues: list[str]  # queue URLs
    parameters: list[str]  # SSM SecureStrings, such as the app's secret key: sessions outlive a restart
    application: str


def save(endpoint: str, folder: Path, snapshot: Snapshot) -> None:
    s3 = local_client("s3", endpoint)
    eb = local_client("elasticbeanstalk", endpoint)
    ssm = local_client("ssm", endpoint)
    draft = folder.with_name(folder.name + ".saving")
    shutil.rmtree(draft, ignore_errors=True)
    objects = []
    for bucket in snapshot.buckets:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket, Key=item["Key"])
                target = draft / "s3" / bucket / item["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(got["Body"].read())
                objects.append({"bucket": bucket, "key": item["Key"], "content_type": got.get("ContentType", ""),
                                "cache_control": got.get("CacheControl", "")})
    queues = sqs_backends[ACCOUNT][LOCAL_REGION].queues
    names = [url.rstrip("/").rsplit("/", 1)[-1] for url in snapshot.queues]
    messages = {name: [{"body": m.body, "attributes": m.message_attributes} for m in queues[name]._messages]
                for name in names if name in queues}
    versions = []
    if eb.describe_applications(ApplicationNames=[snapshot.application])["Applications"]:
        versions = [{"label": v["VersionLabel"], "description": v.get("Description", ""), **v["SourceBundle"]}
                    for v in eb.describe_application_versions(ApplicationName=snapshot.application)
                    ["ApplicationVersions"]]
    parameters = {name: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
                  for name in snapshot.parameters}
    draft.mkdir(parents=True, exist_ok=True)
    manifest = draft / "state.json"
    manifest.touch(mode=0o600)  # it holds the parameters' values
    manifest.write_text(json.dumps({"objects": objects, "messages": messages, "parameters": parameters,
                                    "application": snapshot.application, "versions": versions}, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    draft.rename(folder)


def restore(endpoint: str, folder: Path) -> int:
    """Put a saved state back; return how many objects and messages it restored."""
    manifest = folder / "state.json"
    if not manifest.is_file():
        return 0
    state = json.loads(manifest.read_text())
    s3 = local_client("s3", endpoint)
    sqs = local_client("sqs", endpoint)
    eb = local_client("elasticbeanstalk", endpoint)
    ssm = local_client("ssm", endpoint)
    for name, value in state.get("parameters", {}).items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for item in state["objects"]:
        if item["bucket"] not in existing:
            s3.create_bucket(Bucket=item["bucket"])
            existing.add(item["bucket"])
        extra = {k: v for k, v in (("ContentType", item["content_type"]), ("CacheControl", item["cache_control"])) if v}
        s3.put_object(Bucket=item["bucket"], Key=item["key"],
                      Body=(folder / "s3" / item["bucket"] / item["key"]).read_bytes(), **extra)
    restored = len(state["objects"])
    for name, messages in state["messages"].items():
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        for message in messages:
            attributes = {name: {key: value for key, value in attribute.items() if key in MESSAGE_ATTRIBUTE_FIELDS}
                          for name, attribute in (message["attributes"] or {}).items()}
            sqs.send_message(QueueUrl=url, MessageBody=message["body"], MessageAttributes=attributes)
            restored += 1
    if state["versions"]:
        application = state["application"]
        if not eb.describe_applications(ApplicationNames=[application])["Applications"]:
            eb.create_application(ApplicationName=application)
        for version in reversed(state["versions"]):  # oldest first, so the newest stays newest
            eb.create_application_version(ApplicationName=application, VersionLabel=version["label"],
                                          Description=version["description"],
                                          SourceBundle={"S3Bucket": version["S3Bucket"], "S3Key": version["S3Key"]})
    return restored
