"""The worker environment's SQS queue and its dead-letter queue, both encrypted.

The queue is ours rather than the one EB would create, so it outlives the
environment and its URL is known before the environment exists. sqsd's
MaxRetries must equal MAX_RECEIVE_COUNT: after that many failed deliveries the
queue moves the message to the dead-letter queue, where it waits two weeks.
"""
from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Template
from troposphere.sqs import Queue, RedrivePolicy

from eb_tools.provision.common import skip_checkov

MAX_RECEIVE_COUNT = 10  # sqsd's default MaxRetries
# Longer than sqsd's default VisibilityTimeout and the worker's gunicorn timeout, so a running task keeps its message.
VISIBILITY_SECONDS = 300
FOURTEEN_DAYS = 14 * 24 * 3600  # SQS's longest retention
# checkov's CKV_AWS_27 looks for KmsMasterKeyId only; SQS-managed SSE encrypts without a KMS key to manage.
SSE_SQS = "encrypted with SQS-managed keys (SqsManagedSseEnabled), which CKV_AWS_27 does not recognise"


@dataclass(frozen=True)
class Queues:
    work: Queue
    dead_letters: Queue


def build(template: Template) -> Queues:
    dead_letters = template.add_resource(skip_checkov(Queue(
        "WorkerDeadLetterQueue", SqsManagedSseEnabled=True, MessageRetentionPeriod=FOURTEEN_DAYS),
        CKV_AWS_27=SSE_SQS))
    work = template.add_resource(skip_checkov(Queue(
        "WorkerQueue", SqsManagedSseEnabled=True, VisibilityTimeout=VISIBILITY_SECONDS,
        MessageRetentionPeriod=FOURTEEN_DAYS,
        RedrivePolicy=RedrivePolicy(deadLetterTargetArn=GetAtt(dead_letters, "Arn"),
                                    maxReceiveCount=MAX_RECEIVE_COUNT)),
        CKV_AWS_27=SSE_SQS))
    return Queues(work, dead_letters)

