"""What `eb_tools local` keeps between runs beside the stage's things: EB's records and the sent mail.

A second run's cloud is a new process; here a fresh backend stands for it: what one run's EB exports,
written as JSON and read back, must give the same records (ids, versions, saved configurations, tags,
events) and a usable EB. The whole second run is in test_local_up.py.
"""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from eb_tools.aws import Target, local_session, wait_until
from eb_tools.cloud.elasticbeanstalk import LocalEBBackend, persistence
from eb_tools.cloud.moto_internals import DEFAULT_ACCOUNT_ID
from eb_tools.cloud.server import LocalCloud
from eb_tools.errors import SavedStateError
from eb_tools.local import state
from tests.conftest import aws_client

ACCOUNT, REGION = DEFAULT_ACCOUNT_ID, "us-east-1"  # the local cloud's
STACK = "64bit Amazon Linux 2023 v4.6.0 running Python 3.11"
SQSD = "aws:elasticbeanstalk:sqsd"


def ready(eb: Any, name: str) -> dict[str, Any]:
    return wait_until(lambda: (e := eb.describe_environments(EnvironmentNames=[name])["Environments"][0])["Status"]
                      == "Ready" and e, 10, f"{name} Ready")


def a_run(eb: Any, cloud: LocalCloud) -> dict[str, str]:
    """One run's EB: an application with a version and a saved configuration, a web environment (tagged)
    and a worker whose queue EB made; the web one still updating when the run ends."""
    app = f"state-{uuid.uuid4().hex[:6]}"
    eb.create_application(ApplicationName=app)
    bucket = eb.create_storage_location()["S3Bucket"]
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("Procfile", "web: gunicorn wsgi:application\n")
    aws_client(cloud, "s3").put_object(Bucket=bucket, Key=f"{app}/v1.zip", Body=bundle.getvalue())
    eb.create_application_version(ApplicationName=app, VersionLabel="v1", Process=True,
                                  SourceBundle={"S3Bucket": bucket, "S3Key": f"{app}/v1.zip"})
    eb.create_configuration_template(ApplicationName=app, TemplateName="saved", SolutionStackName=STACK)
    web, worker = f"{app}-web", f"{app}-worker"
    eb.create_environment(ApplicationName=app, EnvironmentName=web, SolutionStackName=STACK, VersionLabel="v1",
                          Tags=[{"Key": "team", "Value": "local"}])
    eb.create_environment(ApplicationName=app, EnvironmentName=worker, SolutionStackName=STACK,
                          Tier={"Name": "Worker", "Type": "SQS/HTTP"})
    ready(eb, web), ready(eb, worker)
    eb.update_environment(EnvironmentName=web, OptionSettings=[
        {"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "STAGE", "Value": "local"}])
    return {"app": app, "web": web, "worker": worker}


def test_eb_records_come_back_as_they_were_with_operations_finished(eb: Any, cloud: LocalCloud) -> None:
    names = a_run(eb, cloud)
    data = json.loads(json.dumps(cloud.export_records(REGION)))
    second = LocalEBBackend(REGION, ACCOUNT)
    persistence.restore(second, data)
    assert persistence.export(second) == data  # nothing lost or changed on the way
    envs = {e.name: e for e in second.describe_environments(names["app"], None, [], [], False, None)}
    live = {e["EnvironmentName"]: e for e in eb.describe_environments(ApplicationName=names["app"])["Environments"]}
    assert {name: e.id for name, e in envs.items()} == {name: e["EnvironmentId"] for name, e in live.items()}
    assert [(e.status, e.health) for e in envs.values()] == [("Ready", "Green")] * 2
    web = envs[names["web"]]
    assert web.version == "v1" and web.tags == {"team": "local"}
    assert second.list_tags(web.arn) == {"team": "local"}
    assert [v.label for v in second.describe_versions(names["app"], [], None)] == ["v1"]
    assert list(second.applications[names["app"]].templates) == ["saved"]
    events = [e.message for e in reversed(second.describe_events(names["app"], names["web"], None, None, None, None,
                                                                  None, None, None))]
    assert events[0] == "createEnvironment is starting."
    assert events[-2:] == ["Successfully deployed new configuration to environment.",
                           "Environment update completed successfully."]  # finished at export, as on AWS
    assert events == [e["Message"] for e in reversed(eb.describe_events(ApplicationName=names["app"],
                                                                        EnvironmentName=names["web"])["Events"])]
    # The restored EB goes on: an update of the restored environment runs and completes.
    second.update_environment(None, names["web"], None, [], [], "after the restart")
    assert second.environments[web.id].status == "Updating"


def test_an_event_still_due_at_the_end_comes_back(eb: Any, cloud: LocalCloud) -> None:
    """A tag update leaves the environment Ready, with EB's event that says it is done one transition later:
    a run that ends in between keeps that event too."""
    app = f"state-{uuid.uuid4().hex[:6]}"
    eb.create_application(ApplicationName=app)
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-web", SolutionStackName=STACK)
    arn = ready(eb, f"{app}-web")["EnvironmentArn"]
    eb.update_tags_for_resource(ResourceArn=arn, TagsToAdd=[{"Key": "stage", "Value": "local"}])
    second = LocalEBBackend(REGION, ACCOUNT)
    persistence.restore(second, json.loads(json.dumps(cloud.export_records(REGION))))
    events = second.describe_events(app, f"{app}-web", None, None, None, None, None, None, None)
    assert events[0].message == "Environment tag update completed successfully."


def test_a_worker_queue_eb_made_is_made_again(eb: Any, cloud: LocalCloud) -> None:
    names = a_run(eb, cloud)
    data = cloud.export_records(REGION)
    sqs = aws_client(cloud, "sqs")
    settings = eb.describe_configuration_settings(ApplicationName=names["app"], EnvironmentName=names["worker"])
    queue = next(o["Value"] for o in settings["ConfigurationSettings"][0]["OptionSettings"]
                 if (o["Namespace"], o["OptionName"]) == (SQSD, "WorkerQueueURL"))
    name = queue.rsplit("/", 1)[1]
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])  # a new run's cloud has none
    persistence.restore(LocalEBBackend(REGION, ACCOUNT), json.loads(json.dumps(data)))
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"].endswith(f"/{name}")


def test_a_backend_has_no_record_the_state_leaves_out() -> None:
    """A record added to the backend must be kept (persistence.RECORDS) or named transient."""
    assert set(vars(LocalEBBackend(REGION, ACCOUNT))) == set(persistence.RECORDS) | persistence.TRANSIENT


def test_restore_refuses_a_backend_that_has_records(eb: Any, cloud: LocalCloud) -> None:
    data = persistence.export(LocalEBBackend(REGION, ACCOUNT))
    with pytest.raises(persistence.StateError, match="already has records"):
        cloud.restore_records(REGION, data)


def test_a_record_that_cannot_be_rebuilt_is_named(tmp_path: Path, cloud: LocalCloud) -> None:
    data = {"applications": {}, "events": [], "environments": {"e-1": {"id": "e-1", "status": "Ready"}}}
    (tmp_path / "state.json").write_text(json.dumps({"format": state.FORMAT, "eb": data, "mail": {}}))
    saved = state.load(tmp_path)
    assert saved is not None
    with pytest.raises(SavedStateError) as raised:
        state.restore_cloud(cloud, Target(local_session(), cloud.url), saved)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'state.json'}: environments.e-1: a saved Environment this eb_tools "
                              "cannot rebuild (")
    assert message.endswith(f"; move {tmp_path} away to start the local cloud afresh") and "\n" not in message


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not a state eb_tools can read (Expecting property name enclosed in double quotes"),
    ('{"format": 2, "objects": []}', "state format 2, while this eb_tools reads format 5"),
    ("[]", "state format None, while this eb_tools reads format 5"),
])
def test_a_state_that_cannot_be_read_is_one_line(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "state.json").write_text(content)
    with pytest.raises(SavedStateError) as raised:
        state.load(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'state.json'}: {reason}") and "\n" not in message
    assert message.endswith(f"move {tmp_path} away to start the local cloud afresh (the database beside it is "
                            "kept)")


def test_a_state_of_the_sqlite_days_says_where_its_accounts_are(tmp_path: Path) -> None:
    """Format 4 kept the stage's database as SQLite beside the state; the stage's MariaDB starts empty, so the
    line says where the old accounts are, and nothing is deleted."""
    (tmp_path / "cloud").mkdir()
    (tmp_path / "cloud" / "state.json").write_text('{"format": 4, "eb": {}}')
    (tmp_path / "app.db").write_bytes(b"SQLite format 3\x00")
    with pytest.raises(SavedStateError) as raised:
        state.load(tmp_path / "cloud")
    assert str(raised.value).endswith(f"its accounts are in {tmp_path / 'app.db'}, a SQLite file the stage's "
                                      "MariaDB replaces")
    assert (tmp_path / "app.db").exists() and (tmp_path / "cloud" / "state.json").exists()


def test_no_state_is_a_new_stage(tmp_path: Path) -> None:
    assert state.load(tmp_path / "cloud") is None


def test_sent_mail_comes_back_where_the_moto_api_shows_it(cloud: LocalCloud) -> None:
    ses = aws_client(cloud, "ses")
    sender = f"no-reply@{uuid.uuid4().hex[:8]}.example.com"
    ses.verify_email_identity(EmailAddress=sender)
    cloud.verify_email_identity(REGION, sender)
    subject = f"kept {uuid.uuid4().hex[:8]}"
    ses.send_email(Source=sender, Destination={"ToAddresses": ["ada@example.com"]},
                   Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": "hello"}}})
    mail = json.loads(json.dumps(cloud.sent_mail(REGION)))
    kept = [m for m in mail["messages"] if m["fields"].get("subject") == subject]
    assert len(kept) == 1 and kept[0]["kind"] == "Message"

    def listed() -> list[dict[str, Any]]:
        data = requests.get(f"{cloud.url}/moto-api/data.json", timeout=5).json()
        return [m for m in data.get("ses", {}).get("Message", []) if m.get("subject") == subject]

    assert len(listed()) == 1
    quota = ses.get_send_quota()["SentLast24Hours"]
    assert cloud.restore_sent_mail(REGION, {"messages": kept, "count": 1}) == 1
    assert [(m["source"], m["body"], m["destinations"]) for m in listed()] == \
        [(sender, "hello", {"ToAddresses": ["ada@example.com"]})] * 2
    assert ses.get_send_quota()["SentLast24Hours"] == quota + 1


def test_a_worker_updated_to_another_queue_names_that_queue(eb: Any, cloud: LocalCloud) -> None:
    """What provision does to a kept worker on the next run (each run's stack makes its queue anew): the
    environment then reports, and sqsd reads, the new queue."""
    sqs, app = aws_client(cloud, "sqs"), f"state-{uuid.uuid4().hex[:6]}"
    first, second = (sqs.create_queue(QueueName=f"{app}-{n}")["QueueUrl"] for n in (1, 2))
    eb.create_application(ApplicationName=app)
    eb.create_environment(ApplicationName=app, EnvironmentName=f"{app}-worker", SolutionStackName=STACK,
                          Tier={"Name": "Worker", "Type": "SQS/HTTP"},
                          OptionSettings=[{"Namespace": SQSD, "OptionName": "WorkerQueueURL", "Value": first}])
    ready(eb, f"{app}-worker")
    eb.update_environment(EnvironmentName=f"{app}-worker",
                          OptionSettings=[{"Namespace": SQSD, "OptionName": "WorkerQueueURL", "Value": second}])
    ready(eb, f"{app}-worker")
    settings = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=f"{app}-worker")
    assert [o["Value"] for o in settings["ConfigurationSettings"][0]["OptionSettings"]
            if (o["Namespace"], o["OptionName"]) == (SQSD, "WorkerQueueURL")] == [second]
    resources = eb.describe_environment_resources(EnvironmentName=f"{app}-worker")["EnvironmentResources"]
    assert [q["URL"] for q in resources["Queues"]] == [second]


def test_objects_of_a_versioned_bucket_come_back_with_every_version_and_its_id(tmp_path: Path,
                                                                               cloud: LocalCloud) -> None:
    """The app records the S3 version it validated (core/uploads.py): after a restart that version must
    still be there under its id, as it would be in AWS, or an upload completed before Ctrl-C is lost."""
    s3 = aws_client(cloud, "s3")
    first, second = f"uploads-{uuid.uuid4().hex[:8]}", f"uploads-{uuid.uuid4().hex[:8]}"
    for bucket in (first, second):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    validated = s3.put_object(Bucket=first, Key="uploads/1/a.png", Body=b"validated")["VersionId"]
    replaced = s3.put_object(Bucket=first, Key="uploads/1/a.png", Body=b"re-posted")["VersionId"]
    target = Target(local_session(REGION), cloud.url)
    state.save(cloud, target, tmp_path / "cloud",
               state.StageResources(buckets={"UploadsBucket": first}, queues={}, secrets={}))
    saved = state.load(tmp_path / "cloud")
    assert saved is not None
    state.restore_stage(cloud, target, saved,
                        state.StageResources(buckets={"UploadsBucket": second}, queues={}, secrets={}))
    assert s3.get_object(Bucket=second, Key="uploads/1/a.png", VersionId=validated)["Body"].read() == b"validated"
    current = s3.get_object(Bucket=second, Key="uploads/1/a.png")
    assert (current["VersionId"], current["Body"].read()) == (replaced, b"re-posted")
