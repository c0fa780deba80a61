"""Create the AWS resources of the `local` stage inside the emulated cloud.

Idempotent: every call may run against a cloud that already has some of them.
"""
from __future__ import annotations

import contextlib
import json
import secrets
from dataclasses import dataclass

from eb_tools.aws import local_client


@dataclass(frozen=True)
class LocalStage:
    uploads_bucket: str
    backup_bucket: str
    queue_url: str
    dead_letter_queue_url: str
    mail_from: str
    secret_key_parameter: str

    def environment(self) -> dict[str, str]:
        """The environment properties the apps read, as provisioning would set them."""
        return {
            "STAGE": "local",
            "UPLOADS_BUCKET": self.uploads_bucket,
            "BACKUP_BUCKET": self.backup_bucket,
            "WORKER_QUEUE_URL": self.queue_url,
            "MAIL_FROM": self.mail_from,
            "SECRET_KEY_PARAMETER": self.secret_key_parameter,
        }


def provision(endpoint_url: str, web_origin: str, name: str = "local",
              max_retries: int = 10) -> LocalStage:
    s3, sqs, ses, ssm = (local_client(service, endpoint_url) for service in ("s3", "sqs", "ses", "ssm"))
    uploads, backups = f"{name}-uploads", f"{name}-backups"
    for bucket in (uploads, backups):
        s3.create_bucket(Bucket=bucket)
    # The browser POSTs uploads straight to the bucket: allow the web origin, nothing else.
    s3.put_bucket_cors(Bucket=uploads, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [web_origin], "AllowedMethods": ["POST", "GET"],
        "AllowedHeaders": ["*"], "MaxAgeSeconds": 3000,
    }]})
    # In AWS, CloudFront (origin access control) is the only reader of the bucket. Locally
    # the browser reads the emulated S3 directly, so the served prefixes are made public.
    s3.put_bucket_policy(Bucket=uploads, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "LocalCdn", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": [f"arn:aws:s3:::{uploads}/uploads/*", f"arn:aws:s3:::{uploads}/variants/*"]}],
    }))
    dlq_url = sqs.create_queue(QueueName=f"{name}-worker-dlq",
                               Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-worker", Attributes={
        "VisibilityTimeout": "300",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_retries)}),
    })["QueueUrl"]
    mail_from = f"no-reply@{name}.example.com"
    ses.verify_email_identity(EmailAddress=mail_from)  # SES's sandbox refuses unverified senders
    parameter = f"/{name}/app/secret-key"  # the app reads it from SSM, as in AWS
    # A new key for a new stage; a restored stage gets its own back (state.restore).
    with contextlib.suppress(ssm.exceptions.ParameterAlreadyExists):
        ssm.put_parameter(Name=parameter, Value=secrets.token_hex(32), Type="SecureString", Overwrite=False)
    return LocalStage(uploads, backups, queue_url, dlq_url, mail_from, parameter)
