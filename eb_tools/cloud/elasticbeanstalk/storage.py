"""What EB itself writes into its storage bucket (elasticbeanstalk-REGION-ACCOUNT), and links to it.

EB keeps saved configurations there (resources/templates/, saved_configs.key) and the logs instances
upload for RequestEnvironmentInfo, handed out as presigned URLs (API reference,
EnvironmentInfoDescription: "Currently contains a presigned Amazon S3 URL"). Reading goes through
services.read_object; this module only writes, deletes and signs.
"""
from __future__ import annotations

from botocore.config import Config

from eb_tools.aws import client, local_session
from eb_tools.cloud.elasticbeanstalk import services

URL_SECONDS = 15 * 60  # EB deletes the files after 15 minutes (EnvironmentInfoDescription)


def bucket_name(region: str, account: str) -> str:
    return f"elasticbeanstalk-{region}-{account}"


def put(account: str, region: str, key: str, data: bytes) -> None:
    bucket = bucket_name(region, account)
    services.ensure_bucket(account, region, bucket)
    services.put_object(account, bucket, key, data)


def delete(account: str, region: str, key: str) -> None:
    services.delete_object(account, bucket_name(region, account), key)


def read(account: str, region: str, key: str) -> bytes | None:
    return services.read_object(account, bucket_name(region, account), key)


def presigned_url(endpoint: str, region: str, account: str, key: str) -> str:
    """A GET link to the object through `endpoint` (the URL the caller reached the cloud by); the
    emulation signs with the local cloud's credentials, which its S3 does not check on GET."""
    s3 = client(local_session(region), "s3", endpoint, Config(s3={"addressing_style": "path"}))
    return str(s3.generate_presigned_url("get_object", Params={"Bucket": bucket_name(region, account),
                                                                   "Key": key}, ExpiresIn=URL_SECONDS))
