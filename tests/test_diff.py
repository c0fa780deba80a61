"""`eb_tools diff` against the local cloud: two provisioned stages that differ only where their stage-file
entries do, a promote between them, then settings changed by hand (as in the console) and a stack resource
changed behind CloudFormation's back, each of which must show up as unexplained."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from eb_tools import cli
from eb_tools.aws import local_session, wait_until
from eb_tools.cloud.server import LocalCloud
from eb_tools.names import stage_stack_name
from eb_tools.provision import command
from eb_tools.release import diff as diffs
from eb_tools.release import stage_view, tier_state
from eb_tools.release.deploy import deliver
from eb_tools.release.difference import Difference
from eb_tools.release.promote import promote
from eb_tools.release.stage_view import StageView
from eb_tools.stage.target import StageTarget
from tests.test_release import World, repository_copy

STAGES = """
application: diffapp
region: us-east-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  dev:
    isolation: dev
    web: {instance_type: t3.micro, min: 2, max: 2}
    worker: {instance_type: t3.micro, min: 2, max: 2}
    plain_http: true
    mail: {from: no-reply@diff-dev.example.com}
    alarm_email: ops@example.com
  qa:
    isolation: qa
    web: {instance_type: t3.small, min: 1, max: 3, deployment: {policy: Immutable}}
    worker: {instance_type: t3.micro, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@diff-qa.example.com}
    alarm_email: ops@example.com
  unprovisioned:
    isolation: unprovisioned
    web: {instance_type: t3.micro, min: 1, max: 1}
    worker: {instance_type: t3.micro, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@diff-unprovisioned.example.com}
    alarm_email: ops@example.com
"""
SECRET = "sk_live_hunter2-never-shown"
MAX_SIZE = ("worker", "option", "aws:autoscaling:asg MaxSize")
MIN_SIZE = ("web", "option", "aws:autoscaling:asg MinSize")
LABEL, LOCK, CRON = ("web", "version", "label"), ("web", "bundle", "lock sha256"), ("worker", "cron", "digest")


def test_a_difference_is_explained_only_when_each_side_is_what_provision_sets_for_its_stage():
    """The classification alone, on views built by hand (no cloud): sizes the stage file sets differently are
    explained; a label, lock or cron.yaml that differ, or a size one stage's file does not say, are not."""
    dev = StageView("dev", runs={MIN_SIZE: "2", LABEL: "v2", LOCK: "aaa", CRON: "5 7 * * * /periodic/digest"},
                    defaults={MIN_SIZE: "1"}, desired={MIN_SIZE: "2"})
    qa = StageView("qa", runs={MIN_SIZE: "3", LABEL: "v1", LOCK: "bbb", CRON: "5 8 * * * /periodic/digest"},
                   defaults={MIN_SIZE: "1"}, desired={MIN_SIZE: "3"})
    found = {(d.tier, d.kind, d.name): d.explained for d in diffs.compare(dev, qa)}
    assert found == {MIN_SIZE: True, LABEL: False, LOCK: False, CRON: False}
    qa.desired[MIN_SIZE] = "4"  # the stage file says 4; 3 runs: someone changed it
    assert [d.explained for d in diffs.compare(dev, qa) if d.name == MIN_SIZE[2]] == [False]
    qa.runs[MIN_SIZE] = dev.runs[MIN_SIZE] = "1"  # both at EB's default: nobody chose it, nothing to list
    assert MIN_SIZE not in {(d.tier, d.kind, d.name) for d in diffs.compare(dev, qa)}


def test_one_stage_is_compared_with_provision_then_its_bundle_then_eb_defaults():
    deployment = ("web", "option", "aws:elasticbeanstalk:command DeploymentPolicy")
    cooldown = ("web", "option", "aws:autoscaling:asg Cooldown")
    view = StageView("qa", runs={MIN_SIZE: "3", deployment: "Rolling", cooldown: "60",
                                 ("web", "property", "DEBUG"): "1", ("web", "property", "DB_NAME"): "app"},
                     defaults={MIN_SIZE: "1", deployment: "AllAtOnce", cooldown: "360"},
                     desired={MIN_SIZE: "2"}, bundle={deployment: "Rolling", ("web", "property", "DB_NAME"): "app"})
    found = {d.name: (d.left, d.right, d.why) for d in diffs.against(view)}
    assert found == {"aws:autoscaling:asg MinSize": ("3", "2", "provision"),
                     "aws:autoscaling:asg Cooldown": ("60", "360", "EB's default"),
                     "DEBUG": ("1", None, "nothing sets it")}


def test_values_of_secrets_are_never_shown():
    password = Difference("web", "option", "aws:rds:dbinstance DBPassword", "hunter2", None)
    assert (password.shown(password.left), password.shown(password.right)) == ("(secret, not shown)", "(not set)")
    assert "hunter2" not in json.dumps(password.as_dict("dev", "qa")) + password.line("dev", "qa")
    arn = "arn:aws:secretsmanager:us-east-1:1:secret:x"
    for named in (Difference("web", "property", "DB_SECRET_ARN", arn, None),
                  Difference("web", "secret", "SECRET_KEY", arn, None)):
        assert named.shown(named.left) == arn  # an ARN names a secret, it holds none
    assert Difference("web", "property", "API_TOKEN", "t0k3n", None).shown("t0k3n") == "(secret, not shown)"


def _cli(world: World, *args: str) -> Result:
    return CliRunner().invoke(cli.main, [*args, "--file", str(world.stage_file)])


def _deploy(world: World, stage: str, marker: str) -> str:
    """A bundle of the repository with a marker file, deployed to `stage`; its label."""
    built = world.build(marker)
    deliver(world.stage(stage), built, lambda _: None, timeout=60, smoke="")
    return built.label


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """dev and qa provisioned, dev running a bundle of this repository, promoted to qa."""
    work = tmp_path_factory.mktemp("diff")
    root = repository_copy(work)
    (work / "eb_tools.yaml").write_text(STAGES)
    cloud = LocalCloud(eb_transition_seconds=0.05).start()
    try:
        for name in ("dev", "qa"):
            command.provision(work / "eb_tools.yaml", name, yes=True, echo=lambda _: None,
                              session=local_session("us-east-1"), endpoint_url=cloud.url,
                              web_origin="http://127.0.0.1:8000", poll_seconds=0.05)
        made = World(cloud, root, work / "eb_tools.yaml", {}, work)
        _deploy(made, "dev", "first")
        promote(made.stage("dev"), made.stage("qa"), lambda _: None, timeout=60, smoke="")
        yield made
    finally:
        cloud.stop()


@pytest.fixture
def env(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
    return world


def _keys(differences: list[Difference]) -> set[tuple[str, str, str]]:
    return {(d.tier, d.kind, d.name) for d in differences}


def _by_hand(where: StageTarget, tier: str, settings: list[dict[str, str]],
             removed: list[dict[str, str]] | None = None) -> None:
    """An update_environment as the console makes it, waited for."""
    eb = where.client("elasticbeanstalk")
    eb.update_environment(ApplicationName=where.application, EnvironmentName=where.environments[tier],
                          OptionSettings=settings, OptionsToRemove=removed or [])
    wait_until(lambda: tier_state.read(eb, where.application, where.live())[tier].status == "Ready", 30,
               f"{tier} Ready", 0.05)


def test_after_a_promote_the_two_stages_differ_only_where_their_stage_file_entries_do(env):
    report = diffs.stages(env.stage("dev"), env.stage("qa"))
    assert report.unexplained == [], report.lines()
    explained = _keys(report.explained)
    assert {("web", "option", "aws:ec2:instances InstanceTypes"), ("web", "option", "aws:autoscaling:asg MinSize"),
            ("web", "option", "aws:elasticbeanstalk:command DeploymentPolicy"), MAX_SIZE,
            ("worker", "property", "WORKER_QUEUE_URL"), ("web", "property", "STAGE"),
            ("worker", "option", "aws:elasticbeanstalk:sqsd WorkerQueueURL")} <= explained, explained
    assert not {d for d in explained if d[1] in ("version", "bundle", "cron", "platform")}
    # What is compared and equal: the running bundle's lock, schema revision and cron.yaml tasks among it.
    runs = stage_view.read(env.stage("qa")).runs
    assert runs[("worker", "bundle", "schema revision")] not in ("", "-") and len(runs[LOCK]) == 64
    assert runs[("worker", "cron", "expire-sessions")].endswith(" /periodic/expire-sessions")
    # Options at EB's default on both sides (nobody chose them) are not listed, even where equal.
    assert not any(d.name == "aws:autoscaling:asg Cooldown" for d in report.differences)
    result = _cli(env, "diff", "dev", "qa")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("diff dev qa: 0 unexplained, ") and "explained by the stage file:" in result.output
    alone = _cli(env, "diff", "qa", "--output", "json")
    assert alone.exit_code == 0, alone.output
    document = json.loads(alone.output)
    assert set(document) == {"stages", "unexplained", "explained", "notes"}
    assert document["unexplained"] == [] and document["stages"] == ["qa"]
    two = json.loads(_cli(env, "diff", "dev", "qa", "--output", "json").output)
    assert {"tier", "kind", "name", "source", "destination"} <= set(two["explained"][0])
    assert any("diffapp-qa-resources: IN_SYNC" in note for note in document["notes"]), document["notes"]


def test_a_setting_changed_by_hand_shows_in_both_forms_and_in_the_next_promote_plan(env):
    dev, qa = env.stage("dev"), env.stage("qa")
    _by_hand(qa, "worker", [{"Namespace": "aws:autoscaling:asg", "OptionName": "MaxSize", "Value": "3"},
                            {"Namespace": "aws:elasticbeanstalk:application:environment",
                             "OptionName": "PAYMENT_SECRET_KEY", "Value": SECRET}])
    try:
        pair = _cli(env, "diff", "dev", "qa")
        assert pair.exit_code == 1, pair.output
        assert "unexplained:" in pair.output and SECRET not in pair.output
        unexplained = pair.output.split("unexplained:", 1)[1].split("explained by the stage file:")[0]
        assert "aws:autoscaling:asg MaxSize" in unexplained and "PAYMENT_SECRET_KEY" in unexplained
        as_json = _cli(env, "diff", "dev", "qa", "--output", "json")
        assert as_json.exit_code == 1 and SECRET not in as_json.output
        rows = {(d["tier"], d["kind"], d["name"]): d for d in json.loads(as_json.output)["unexplained"]}
        assert rows[MAX_SIZE]["source"] == "2" and rows[MAX_SIZE]["destination"] == "3"
        assert rows[("worker", "property", "PAYMENT_SECRET_KEY")] == {
            "tier": "worker", "kind": "property", "name": "PAYMENT_SECRET_KEY", "source": "(not set)",
            "destination": "(secret, not shown)"}
        alone = json.loads(_cli(env, "diff", "qa", "--output", "json").output)
        rows = {(d["tier"], d["kind"], d["name"]): d for d in alone["unexplained"]}
        assert rows[MAX_SIZE] == {"tier": "worker", "kind": "option", "name": "aws:autoscaling:asg MaxSize",
                                  "runs": "3", "expected": "1", "expected_from": "provision"}
        assert ("worker", "property", "PAYMENT_SECRET_KEY") in rows and SECRET not in json.dumps(alone)
        lines: list[str] = []
        promote(dev, qa, lines.append, dry_run=True, timeout=60, smoke="")
        warnings = [line for line in lines if "WARNING: unexplained difference" in line]
        assert any("worker option aws:autoscaling:asg MaxSize: 2 on dev, 3 on qa" in w for w in warnings), lines
        assert any("PAYMENT_SECRET_KEY" in w for w in warnings) and not any(SECRET in line for line in lines)
    finally:
        _by_hand(qa, "worker", [{"Namespace": "aws:autoscaling:asg", "OptionName": "MaxSize", "Value": "1"}],
                 [{"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "PAYMENT_SECRET_KEY"}])
    assert diffs.stages(dev, qa).unexplained == []


def test_a_stack_resource_changed_behind_cloudformation_is_drift(env):
    qa = env.stage("qa")
    cfn, sqs = qa.client("cloudformation"), qa.client("sqs")
    stack = stage_stack_name("diffapp", "qa")
    queue = next(r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
                 if r["LogicalResourceId"] == "WorkerQueue")
    before = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "7"})
    try:
        result = _cli(env, "diff", "qa", "--output", "json")
        assert result.exit_code == 1, result.output
        [drift] = [d for d in json.loads(result.output)["unexplained"] if d["kind"] == "drift"]
        assert drift == {"tier": f"stack {stack}", "kind": "drift", "name": "WorkerQueue /VisibilityTimeout",
                         "runs": "7", "expected": before["VisibilityTimeout"],
                         "expected_from": "CloudFormation: NOT_EQUAL"}
        detection = cfn.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]
        status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        assert (status["DetectionStatus"], status["StackDriftStatus"], status["DriftedStackResourceCount"]) == \
            ("DETECTION_COMPLETE", "DRIFTED", 1)
        modified = cfn.describe_stack_resource_drifts(StackName=stack, StackResourceDriftStatusFilters=["MODIFIED"])
        [resource] = modified["StackResourceDrifts"]
        assert resource["LogicalResourceId"] == "WorkerQueue" and resource["PhysicalResourceId"] == queue
        assert json.loads(resource["ActualProperties"])["VisibilityTimeout"] in ("7", 7)
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes=before)
    assert _cli(env, "diff", "qa").exit_code == 0
    dead = next(r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
                if r["LogicalResourceId"] == "WorkerDeadLetterQueue")
    kept = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    sqs.delete_queue(QueueUrl=dead)
    try:
        unexplained = json.loads(_cli(env, "diff", "qa", "--output", "json").output)["unexplained"]
        assert [(d["name"], d["runs"], d["expected_from"]) for d in unexplained] == [
            ("WorkerDeadLetterQueue", "(deleted)", "CloudFormation: DELETED")]
    finally:
        sqs.create_queue(QueueName=dead.rsplit("/", 1)[1], Attributes=kept)


def test_a_new_label_on_one_stage_is_unexplained_until_promoted(env):
    """Another label is a difference no stage file explains; the promote plan leaves it out (the promote
    carries it), and after the promote nothing unexplained is left."""
    dev, qa = env.stage("dev"), env.stage("qa")
    label = _deploy(env, "dev", "second")
    result = _cli(env, "diff", "dev", "qa", "--output", "json")
    assert result.exit_code == 1, result.output
    rows = {(d["tier"], d["kind"], d["name"]): d for d in json.loads(result.output)["unexplained"]}
    assert rows[LABEL]["source"] == label and rows[("worker", "version", "label")]["source"] == label
    assert set(rows) == {LABEL, ("worker", "version", "label")}  # the same lock and cron.yaml: not listed
    lines: list[str] = []
    promote(dev, qa, lines.append, timeout=60, smoke="")
    assert not any("unexplained difference" in line for line in lines), lines
    assert diffs.stages(dev, qa).unexplained == []


def test_bad_stage_names_and_unprovisioned_stages_are_one_line(env):
    for args, words in ((("diff", "nowhere"), "no such stage (defined: dev, qa, unprovisioned)"),
                        (("diff", "dev", "unprovisioned"), "diff: stage unprovisioned is not provisioned (stack "
                                                           "diffapp-unprovisioned-resources does not exist); run "
                                                           "eb_tools provision unprovisioned first")):
        result = _cli(env, *args)
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
        assert words in result.output and "Traceback" not in result.output, result.output
    assert _cli(env, "diff", "dev", "qa", "unprovisioned").exit_code == 2
