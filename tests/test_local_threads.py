"""The local cloud under concurrent callers, as `eb_tools local` has them: the eb CLI, both tiers, sqsd.

Several threads at once create, update and describe EB environments and follow their events, run
CloudFormation change sets on different stacks and write objects to buckets with policies; every answer
must be a well-formed one (no 500, no HTML), every environment must reach its state, and the events a
follower reads with the eb CLI's cursor (the next StartTime is the last event's date plus 1 ms) must be
exactly the environment's events. Bounded: a fixed number of operations per thread, a deadline for all,
127.0.0.1 only.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.config import Config

from eb_tools.aws import local_session, wait_until
from eb_tools.cloud.server import LocalCloud
from tests.conftest import EbSeconds

STACK = "64bit Amazon Linux 2023 v4.6.0 running Python 3.11"
DEADLINE = 90.0  # seconds for everything the threads do
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})  # a 500 must surface, not be retried away
PROPERTIES = "aws:elasticbeanstalk:application:environment"
TLS_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


@pytest.fixture
def clients(cloud: LocalCloud, eb_seconds: EbSeconds) -> Callable[[str], Any]:
    """A maker of clients that do not retry; each thread gets its own."""
    eb_seconds(cloud, 0.2)
    session = local_session()
    lock = threading.Lock()

    def make(service: str) -> Any:
        with lock:  # a boto3 session is not safe to make clients from in several threads at once
            return session.client(service, endpoint_url=cloud.url, config=ONE_ATTEMPT)

    return make


def run_all(*jobs: Callable[[], None]) -> None:
    """Run the jobs in threads at once; re-raise the first failure; fail past the deadline."""
    failures: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as error:  # every failure of a thread is the test's
            failures.append(error)

    threads = [threading.Thread(target=guarded, args=(job,), daemon=True) for job in jobs]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, DEADLINE - (time.monotonic() - started)))
    assert not [t for t in threads if t.is_alive()], f"threads still running after {DEADLINE} s"
    if failures:
        raise failures[0]


def wait_status(eb: Any, name: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any]:
        env = eb.describe_environments(EnvironmentNames=[name], IncludeDeleted=False)["Environments"][0]
        return env if env["Status"] == status else {}

    return wait_until(reached, 30, f"{name} {status}")


class Follower:
    """Reads an environment's events as the eb CLI does, until told to stop, then once more."""

    def __init__(self, eb: Any, app: str, env: str) -> None:
        self.eb, self.app, self.env = eb, app, env
        self.seen: list[dict[str, Any]] = []
        self.done = threading.Event()

    def poll(self) -> None:
        kwargs: dict[str, Any] = {"ApplicationName": self.app, "EnvironmentName": self.env}
        if self.seen:
            kwargs["StartTime"] = str(self.seen[-1]["EventDate"] + timedelta(milliseconds=1))  # ebcli's cursor
        self.seen += reversed(self.eb.describe_events(**kwargs)["Events"])

    def __call__(self) -> None:
        while not self.done.wait(0.02):
            self.poll()
        self.poll()


def test_eb_cloudformation_and_s3_at_once_stay_consistent(clients: Callable[[str], Any]) -> None:
    suffix = uuid.uuid4().hex[:6]
    apps = [f"threads-{suffix}-{n}" for n in range(2)]
    setup = clients("elasticbeanstalk")
    for app in apps:
        setup.create_application(ApplicationName=app)
    environments = [(apps[n % 2], f"thr-{suffix}-{n}") for n in range(4)]  # even: web, odd: worker
    followers = [Follower(clients("elasticbeanstalk"), app, env) for app, env in environments]

    def environment(app: str, name: str, follower: Follower, tier: dict[str, str]) -> Callable[[], None]:
        eb = clients("elasticbeanstalk")

        def job() -> None:
            try:
                eb.create_environment(ApplicationName=app, EnvironmentName=name, SolutionStackName=STACK, Tier=tier)
                wait_status(eb, name, "Ready")
                for round_ in range(2):
                    eb.update_environment(EnvironmentName=name, OptionSettings=[
                        {"Namespace": PROPERTIES, "OptionName": "ROUND", "Value": str(round_)}])
                    wait_status(eb, name, "Ready")
                    eb.describe_environment_health(EnvironmentName=name, AttributeNames=["All"])
            finally:
                follower.done.set()

        return job

    def stack(number: int) -> Callable[[], None]:
        cfn, name = clients("cloudformation"), f"threads-{suffix}-stack-{number}"

        def deploy(resources: dict[str, Any], kind: str) -> dict[str, Any]:
            template = {"Resources": resources,
                        "Outputs": {key: {"Value": {"Ref": key}} for key in resources}}
            change_set = f"cs-{uuid.uuid4().hex[:8]}"
            cfn.create_change_set(StackName=name, ChangeSetName=change_set, ChangeSetType=kind,
                                  TemplateBody=json.dumps(template))
            wait_until(lambda: cfn.describe_change_set(StackName=name, ChangeSetName=change_set)["Status"]
                       == "CREATE_COMPLETE", 30, f"change set of {name}")
            cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
            return wait_until(lambda: (s := cfn.describe_stacks(StackName=name)["Stacks"][0])["StackStatus"]
                              .endswith("_COMPLETE") and s, 30, f"{name} complete")

        def job() -> None:
            resources: dict[str, Any] = {"Queue": {"Type": "AWS::SQS::Queue"}, "Topic": {"Type": "AWS::SNS::Topic"}}
            created = deploy(resources, "CREATE")
            assert created["StackStatus"] == "CREATE_COMPLETE"
            resources["Bucket"] = {"Type": "AWS::S3::Bucket"}
            updated = deploy(resources, "UPDATE")
            assert updated["StackStatus"] == "UPDATE_COMPLETE"
            assert sorted(o["OutputKey"] for o in updated["Outputs"]) == ["Bucket", "Queue", "Topic"]
            cfn.list_change_sets(StackName=name)
            cfn.describe_stack_events(StackName=name)

        return job

    def objects(number: int) -> Callable[[], None]:
        s3, bucket = clients("s3"), f"threads-{suffix}-bucket-{number}"

        def job() -> None:
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(TLS_ONLY).replace("{bucket}", bucket))
            for key in range(15):
                s3.put_object(Bucket=bucket, Key=f"k{key}", Body=f"{number}:{key}".encode())
                s3.list_buckets()  # moto walks every bucket while stacks create theirs
            assert [s3.get_object(Bucket=bucket, Key=f"k{key}")["Body"].read() for key in range(15)] == [
                f"{number}:{key}".encode() for key in range(15)]

        return job

    tiers = [{"Name": "WebServer", "Type": "Standard"}, {"Name": "Worker", "Type": "SQS/HTTP"}]
    run_all(*followers, *(environment(app, env, follower, tiers[n % 2])
                          for n, ((app, env), follower) in enumerate(zip(environments, followers, strict=True))),
            *(stack(n) for n in range(3)), *(objects(n) for n in range(3)))

    eb = clients("elasticbeanstalk")
    for (app, env), follower in zip(environments, followers, strict=True):
        described = eb.describe_environments(EnvironmentNames=[env])["Environments"][0]
        assert (described["Status"], described["Health"]) == ("Ready", "Green")
        every = list(reversed(eb.describe_events(ApplicationName=app, EnvironmentName=env)["Events"]))
        assert [(e["EventDate"], e["Message"]) for e in follower.seen] == \
            [(e["EventDate"], e["Message"]) for e in every], f"events of {env} lost by the eb CLI's cursor"
        dates: list[datetime] = [e["EventDate"] for e in every]
        assert all(later - earlier >= timedelta(milliseconds=1) for earlier, later in zip(dates, dates[1:],
                                                                                             strict=False))
        messages = [e["Message"] for e in every]
        assert f"Successfully launched environment: {env}" in messages
        assert messages.count("Environment update completed successfully.") == 2


def test_two_change_sets_of_one_stack_executed_at_once_run_one_after_the_other(
        clients: Callable[[str], Any]) -> None:
    """As on AWS, executing one change set makes the stack's others OBSOLETE: of two executed at the same
    moment, one runs and the other is refused, never both half-applied on top of each other."""
    cfn, name = clients("cloudformation"), f"threads-{uuid.uuid4().hex[:8]}"

    def change_set(resources: dict[str, Any], kind: str) -> str:
        change_set_name = f"cs-{uuid.uuid4().hex[:8]}"
        cfn.create_change_set(StackName=name, ChangeSetName=change_set_name, ChangeSetType=kind,
                              TemplateBody=json.dumps({"Resources": resources}))
        wait_until(lambda: cfn.describe_change_set(StackName=name, ChangeSetName=change_set_name)["Status"]
                   == "CREATE_COMPLETE", 30, f"change set of {name}")
        return change_set_name

    first = change_set({"Queue": {"Type": "AWS::SQS::Queue"}}, "CREATE")
    cfn.execute_change_set(StackName=name, ChangeSetName=first)
    wait_until(lambda: cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE", 30,
               f"{name} created")
    updates = {extra: change_set({"Queue": {"Type": "AWS::SQS::Queue"}, extra: {"Type": kind}}, "UPDATE")
               for extra, kind in (("Topic", "AWS::SNS::Topic"), ("Bucket", "AWS::S3::Bucket"))}
    outcomes: dict[str, str] = {}

    def execute(extra: str) -> Callable[[], None]:
        client = clients("cloudformation")

        def job() -> None:
            try:
                client.execute_change_set(StackName=name, ChangeSetName=updates[extra])
                outcomes[extra] = "executed"
            except client.exceptions.InvalidChangeSetStatusException:
                outcomes[extra] = "refused"

        return job

    run_all(execute("Topic"), execute("Bucket"))
    assert sorted(outcomes.values()) == ["executed", "refused"]
    ran = next(extra for extra, outcome in outcomes.items() if outcome == "executed")
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    resources = cfn.describe_stack_resources(StackName=name)["StackResources"]
    assert sorted(r["LogicalResourceId"] for r in resources) == sorted(["Queue", ran])
    statuses = [e["ResourceStatus"] for e in reversed(cfn.describe_stack_events(StackName=name)["StackEvents"])
                if e["LogicalResourceId"] == name]
    assert statuses[-3:] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"]
    assert statuses.count("UPDATE_IN_PROGRESS") == 1


def test_a_stack_read_while_its_change_set_executes_is_created_once(clients: Callable[[str], Any]) -> None:
    """Describing a stack while its change set executes (a deploy tool's poll, the eb CLI) reads it as it
    stands; it never creates resources itself, twice or out of order."""
    cfn, sqs, name = clients("cloudformation"), clients("sqs"), f"threads-{uuid.uuid4().hex[:8]}"
    queues = {f"Queue{n}": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-q{n}"}}
              for n in range(12)}
    change_set = f"cs-{uuid.uuid4().hex[:8]}"
    cfn.create_change_set(StackName=name, ChangeSetName=change_set, ChangeSetType="CREATE",
                          TemplateBody=json.dumps({"Resources": queues}))
    wait_until(lambda: cfn.describe_change_set(StackName=name, ChangeSetName=change_set)["Status"]
               == "CREATE_COMPLETE", 30, f"change set of {name}")
    executed = threading.Event()

    def read() -> None:
        client = clients("cloudformation")
        while not executed.is_set():
            client.describe_stack_resources(StackName=name)
            client.describe_stacks(StackName=name)
            client.describe_stack_events(StackName=name)

    def execute() -> None:
        try:
            cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
        finally:
            executed.set()

    run_all(read, read, read, execute)
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert len(sqs.list_queues(QueueNamePrefix=name)["QueueUrls"]) == len(queues)
    completed = [e["LogicalResourceId"] for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
                 if e["ResourceStatus"] == "CREATE_COMPLETE" and e["LogicalResourceId"] != name]
    assert sorted(completed) == sorted(queues)


def test_a_long_poll_does_not_hold_the_cloud(clients: Callable[[str], Any]) -> None:
    """ReceiveMessage may wait 20 s for a message; meanwhile everything else answers, and a message sent
    then ends the wait."""
    sqs, s3 = clients("sqs"), clients("s3")
    queue = sqs.create_queue(QueueName=f"threads-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    received: list[Any] = []

    def poll() -> None:
        started = time.monotonic()
        received.extend(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", []))
        received.append(time.monotonic() - started)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    until = time.monotonic() + 1.0  # a second of calls, all while the poll waits (it waits up to 10 s)
    while time.monotonic() < until:
        started = time.monotonic()
        s3.list_buckets()
        assert time.monotonic() - started < 5, "a call waited for the long poll (up to its 10 s)"
    assert poller.is_alive() and not received
    clients("sqs").send_message(QueueUrl=queue, MessageBody="wake up")
    poller.join(12)
    assert [m["Body"] for m in received[:-1]] == ["wake up"] and received[-1] < 5



def test_concurrent_receives_take_each_message_once(cloud: LocalCloud, clients: Callable[[str], Any]) -> None:
    """As sqsd's HttpConnections pollers and a second worker instance do: many long-polls at once on one queue
    whose messages fail into its dead-letter queue. SQS hands a message to one receive at a time and moves
    it to the DLQ once; no receive may fail."""
    sqs = clients("sqs")
    name = f"race-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})["QueueUrl"]
    total = 200
    for start in range(0, total, 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, start + 10)])
    errors: list[str] = []

    def poll() -> None:  # never deletes: every message fails twice (visible again at once), then the DLQ
        client = clients("sqs")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if not client.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                              VisibilityTimeout=0).get("Messages"):
                    return
            except Exception as error:  # any failure is the finding
                errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=poll) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert errors == []
    dead: list[str] = []
    while batch := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=120).get("Messages"):
        dead.extend(m["Body"] for m in batch)
    assert sorted(dead) == sorted(f"m{n}" for n in range(total))
