"""Release against the local cloud with failures injected: web and worker move together to one label, every
instance proven, and any failure, timeout or Ctrl-C puts both back on the label each ran."""
from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from eb_tools import cli
from eb_tools.aws import local_session, wait_until
from eb_tools.cloud.server import LocalCloud
from eb_tools.errors import ReleaseError
from eb_tools.names import stage_stack_name
from eb_tools.provision import command
from eb_tools.provision.templates import LOAD_BALANCER
from eb_tools.release import fingerprint, tier_state, versions
from eb_tools.release.deploy import Built, deliver, prepare
from eb_tools.release.promote import promote
from eb_tools.release.rollback import rollback
from eb_tools.release.status import stage_status
from eb_tools.stage import history, lock
from eb_tools.stage.target import StageTarget, resolve
from tests.cloud_clients import local_client
from tests.migration_scripts import CONTRACT, EXPAND

ROOT = Path(__file__).resolve().parent.parent
OTHER_ACCOUNT = "222222222222"
STAGES = f"""
application: relapp
region: us-east-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  dev:
    isolation: dev
    web: {{instance_type: t3.micro, min: 2, max: 2}}
    worker: {{instance_type: t3.micro, min: 2, max: 2}}
    plain_http: true
    mail: {{from: no-reply@dev.example.com}}
    alarm_email: ops@example.com
  qa:
    isolation: qa
    web: {{instance_type: t3.micro, min: 2, max: 2, blue_green: true}}
    worker: {{instance_type: t3.micro, min: 1, max: 1}}
    plain_http: true
    mail: {{from: no-reply@qa.example.com}}
    alarm_email: ops@example.com
  other:
    account: "{OTHER_ACCOUNT}"
    isolation: other
    web: {{instance_type: t3.micro, min: 1, max: 1}}
    worker: {{instance_type: t3.micro, min: 1, max: 1}}
    plain_http: true
    mail: {{from: no-reply@other.example.com}}
    alarm_email: ops@example.com
  mig:
    isolation: mig
    web: {{instance_type: t3.micro, min: 1, max: 1}}
    worker: {{instance_type: t3.micro, min: 1, max: 1}}
    plain_http: true
    mail: {{from: no-reply@mig.example.com}}
    alarm_email: ops@example.com
  unprovisioned:
    region: us-west-2  # no application there: versions and status say so in its entry
    isolation: unprovisioned
    web: {{instance_type: t3.micro, min: 1, max: 1}}
    worker: {{instance_type: t3.micro, min: 1, max: 1}}
    plain_http: true
    mail: {{from: no-reply@unprovisioned.example.com}}
    alarm_email: ops@example.com
"""


@dataclass
class World:
    cloud: LocalCloud
    root: Path  # a copy of the repository: the bundle deployed
    stage_file: Path
    sessions: dict[str, boto3.session.Session]
    work: Path

    def stage(self, name: str) -> StageTarget:
        [where] = resolve(self.stage_file, [name], sessions=self.sessions, endpoint_url=self.cloud.url,
                          poll_seconds=0.05)
        return where

    def build(self, marker: str, description: str | None = None) -> Built:
        """The repository with a marker file: a bundle with a label of its own."""
        (self.root / "release-marker.txt").write_text(marker)
        built = prepare(self.root, self.work / "bundles", working_tree=True)
        return replace(built, description=description) if description is not None else built


def repository_copy(work: Path) -> Path:
    """A copy of this repository in `work` to bundle (tests, venvs and local state left out)."""
    root = work / "app"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv*", ".local", ".git", "tests", "__pycache__",
                                                              ".elasticbeanstalk", "benchmarks"))
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("release")
    root = repository_copy(work)
    (work / "eb_tools.yaml").write_text(STAGES)
    cloud = LocalCloud(eb_transition_seconds=0.05).start()
    sts = local_client("sts", cloud.url)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer",
                            RoleSessionName="tests")["Credentials"]
    sessions = {"other": boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                               aws_secret_access_key=creds["SecretAccessKey"],
                                               aws_session_token=creds["SessionToken"], region_name="us-east-1")}
    try:
        for name in ("dev", "qa", "other", "mig"):
            session = sessions.get(name) or local_session("us-east-1")
            command.provision(work / "eb_tools.yaml", name, yes=True, echo=lambda _: None, session=session,
                              endpoint_url=cloud.url, web_origin="http://127.0.0.1:8000", poll_seconds=0.05)
        yield World(cloud, root, work / "eb_tools.yaml", sessions, work)
    finally:
        cloud.stop()


def _eb(where: StageTarget) -> Any:
    return where.client("elasticbeanstalk")


def _states(where: StageTarget) -> dict[str, tier_state.TierState]:
    return tier_state.read(_eb(where), where.application, where.live(), causes=True)


def _settled(where: StageTarget, label: str) -> None:
    """Both tiers name `label`, are Green, and every instance runs it."""
    states = _states(where)
    assert {t: s.settled_on for t, s in states.items()} == {"web": label, "worker": label}, states


class Lines(list[str]):
    """An echo that keeps what it was given, and can act on a line."""

    def __init__(self, on: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.on = on

    def __call__(self, line: str) -> None:
        self.append(line)
        if self.on:
            self.on(line)


def _good(world: World, where: StageTarget, marker: str) -> str:
    built = world.build(marker)
    deliver(where, built, Lines(), timeout=60, smoke="")
    return built.label


def _instance_ids(where: StageTarget, tier: str) -> list[str]:
    listed = _eb(where).describe_instances_health(EnvironmentName=where.environments[tier],
                                                  AttributeNames=["All"])["InstanceHealthList"]
    return sorted(i["InstanceId"] for i in listed)


def _set_policy(where: StageTarget, tier: str, policy: str) -> None:
    eb = _eb(where)
    eb.update_environment(ApplicationName=where.application, EnvironmentName=where.environments[tier],
                          OptionSettings=[{"Namespace": "aws:elasticbeanstalk:command", "OptionName":
                                           "DeploymentPolicy", "Value": policy}])
    wait_until(lambda: _states(where)[tier].status == "Ready", 30, f"{tier} Ready", 0.05)


def test_a_deploy_moves_both_tiers_to_one_label_and_records_it(world):
    dev = world.stage("dev")
    lines = Lines()
    built = world.build("one")
    deliver(dev, built, lines, timeout=60, smoke="")
    _settled(dev, built.label)
    assert history.read(dev)[-1]["label"] == built.label
    text = "\n".join(lines)
    assert "web" in text and "worker" in text and "Environment update completed successfully." in text
    assert f"web and worker run {built.label} on every instance" in text
    again = Lines()
    deliver(dev, built, again, timeout=60, smoke="")  # nothing to do, and it says so
    assert any("already run" in line for line in again), again


def test_a_worker_failing_under_a_rolling_policy_puts_both_tiers_back(world):
    dev = world.stage("dev")
    good = _good(world, dev, "good-rolling")
    mixed: dict[str, dict[str, int]] = {}

    def at_failure(line: str) -> None:
        if line.startswith("FAILED"):
            mixed.update({t: dict(s.instances) for t, s in _states(dev).items()})

    bad = world.build("bad-rolling", description="[local:fail:worker] broken worker")
    lines = Lines(at_failure)
    with pytest.raises(ReleaseError) as failure:
        deliver(dev, bad, lines, timeout=60, smoke="")
    message = str(failure.value)
    assert f"{bad.label} failed: worker:" in message and "rolled back" in message, message
    # At the failure, the rolling deployment had left the worker mixed: EB does not roll it back by itself.
    assert mixed["worker"] == {bad.label: 1, good: 1}, mixed
    _settled(dev, good)
    assert history.read(dev)[-1]["label"] == good


def test_a_web_failing_under_immutable_leaves_its_original_instances(world):
    dev = world.stage("dev")
    good = _good(world, dev, "good-immutable")
    _set_policy(dev, "web", "Immutable")
    try:
        originals = _instance_ids(dev, "web")
        seen: dict[str, Any] = {}

        def at_failure(line: str) -> None:
            if line.startswith("FAILED"):
                seen.update(ids=_instance_ids(dev, "web"), web=_states(dev)["web"])

        with pytest.raises(ReleaseError, match="web:"):
            deliver(dev, world.build("bad-immutable", description="[local:fail:web] broken web"),
                    Lines(at_failure), timeout=60, smoke="")
        assert seen["ids"] == originals and seen["web"].settled_on == good, seen
        assert _instance_ids(dev, "web") == originals  # not even redeployed by the put-back: nothing to repair
        _settled(dev, good)
    finally:
        _set_policy(dev, "web", "RollingWithAdditionalBatch")


def test_a_timeout_aborts_both_updates_and_rolls_back(world, eb_seconds):
    dev = world.stage("dev")
    good = _good(world, dev, "good-timeout")
    eb_seconds(world.cloud, 2.0)
    lines = Lines()
    with pytest.raises(ReleaseError, match="not done within --timeout 1s") as failure:
        deliver(dev, world.build("slow"), lines, timeout=1, smoke="")
    assert "rolled back" in str(failure.value), failure.value
    assert any("aborting the update of" in line for line in lines), lines
    _settled(dev, good)


def test_ctrl_c_aborts_both_updates_and_rolls_back(world, eb_seconds):
    dev = world.stage("dev")
    good = _good(world, dev, "good-interrupt")
    eb_seconds(world.cloud, 0.5)
    interrupted = []

    def press_ctrl_c(line: str) -> None:
        if "Environment update is starting." in line and not interrupted:
            interrupted.append(line)
            raise KeyboardInterrupt

    with pytest.raises(ReleaseError, match=r"interrupted \(Ctrl-C\)") as failure:
        deliver(dev, world.build("interrupted"), Lines(press_ctrl_c), timeout=60, smoke="")
    assert "rolled back" in str(failure.value)
    _settled(dev, good)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"database": "down"}')

    def log_message(self, *args: Any) -> None:
        pass


def test_a_failing_smoke_test_rolls_back(world, monkeypatch):
    dev = world.stage("dev")
    good = _good(world, dev, "good-smoke")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/healthz/deep"
        from eb_tools.release import execute
        monkeypatch.setattr(execute, "SMOKE_TIMEOUT", 2.0)  # how long the smoke test retries: 60 s in use
        with pytest.raises(ReleaseError, match=r"smoke test .*HTTP 503") as failure:
            deliver(dev, world.build("smoke-bad"), Lines(), timeout=60, smoke=url)
        assert "rolled back" in str(failure.value)
        _settled(dev, good)
    finally:
        server.shutdown()


def test_a_second_release_of_a_stage_is_refused_while_one_runs(world):
    dev = world.stage("dev")
    before = _states(dev)
    with lock.holding(dev, "deploy v-first", 600), pytest.raises(
            ReleaseError, match=r"another release is running \(deploy v-first, by .* pid \d+, since"):
        deliver(dev, world.build("second"), Lines(), timeout=60, smoke="")
    assert _states(dev) == before
    # the lock of a release that died lapses, and the next release takes it over
    with lock.holding(dev, "deploy v-died", -1), lock.holding(dev, "deploy v-next", 600), pytest.raises(
            ReleaseError, match=r"\(deploy v-next, by"):
        deliver(dev, world.build("third"), Lines(), timeout=60, smoke="")


def test_a_bundle_with_check_findings_is_refused_before_anything_changes(world):
    dev = world.stage("dev")
    before = _states(dev)
    (world.root / ".ebextensions" / "99_bad.config").write_text("option_settings:\n  aws:autoscaling:asg:\n"
                                                                 "    MinSize: zero\n")
    try:
        with pytest.raises(ReleaseError, match=r"eb_tools check: 1 problem\(s\) in .*99_bad.config"):
            world.build("findings")
    finally:
        (world.root / ".ebextensions" / "99_bad.config").unlink()
    assert _states(dev) == before


def _cli_against(world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line against the module's cloud, polling as fast as the module's own calls do."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
    monkeypatch.setenv("EB_TOOLS_POLL_SECONDS", "0.05")
    return CliRunner()


def _released(document: dict[str, Any], stage: str, label: str, dry_run: bool) -> dict[str, Any]:
    """The schema of deploy's, promote's and rollback's JSON document; its tiers."""
    assert set(document) == {"stage", "application", "region", "label", "dry_run", "tiers"}
    assert (document["stage"], document["label"], document["dry_run"]) == (stage, label, dry_run)
    assert set(document["tiers"]) == {"web", "worker"}
    for tier in document["tiers"].values():
        assert {"environment", "exists", "label", "status", "health", "instances", "on_label"} <= set(tier)
    return dict(document["tiers"])


def test_promote_puts_the_source_label_on_the_destination(world, monkeypatch):
    dev, qa = world.stage("dev"), world.stage("qa")
    good = _good(world, dev, "to-promote")
    result = _cli_against(world, monkeypatch).invoke(cli.main, ["promote", "dev", "qa", "--file", str(world.stage_file),
                                                                "--timeout", "60", "--output", "json"])
    assert result.exit_code == 0, result.output
    tiers = _released(json.loads(result.stdout), "qa", good, False)
    assert all(t["on_label"] and t["instances"] == {good: t["instances"][good]} for t in tiers.values())
    _settled(qa, good)
    assert "copying" not in result.output  # one application: the label is there already
    assert history.read(qa)[-1] == {**history.read(qa)[-1], "label": good, "by": "promote from dev"}


def test_promote_by_swap_updates_the_idle_twin_then_exchanges_the_urls(world):
    dev, qa = world.stage("dev"), world.stage("qa")
    first = _good(world, dev, "swap-1")
    promote(dev, qa, Lines(), timeout=60, smoke="")
    live, idle = qa.web_pair()
    url = _eb(qa).describe_environments(EnvironmentNames=[live])["Environments"][0]["CNAME"]
    assert url.startswith("relapp-qa-web.")  # the stage's URL, as provisioned
    second = _good(world, dev, "swap-2")
    lines = Lines()
    promote(dev, qa, lines, strategy="swap", timeout=60, smoke="")
    assert qa.web_pair() == (idle, live)  # the twin now serves the stage's URL ...
    envs = {e["EnvironmentName"]: e for e in _eb(qa).describe_environments(EnvironmentNames=[live, idle])[
        "Environments"]}
    assert envs[idle]["CNAME"] == url and envs[idle]["VersionLabel"] == second  # ... on the new label
    assert envs[live]["VersionLabel"] == first  # the former live web is the idle twin, on the old label
    _settled(qa, second)  # the stage as its URL and its worker see it
    assert any("swapping URLs" in line for line in lines)
    assert history.read(qa)[-1]["label"] == second
    again = Lines()  # the same promote once more: the stage runs it already, the twin keeps the way back
    promote(dev, qa, again, strategy="swap", timeout=60, smoke="")
    assert qa.web_pair() == (idle, live) and any(f"already run {second} on every instance" in x for x in again)
    assert _eb(qa).describe_environments(EnvironmentNames=[live])["Environments"][0]["VersionLabel"] == first
    assert not any("swapping URLs" in line for line in again)
    with pytest.raises(ReleaseError, match="stage dev has no idle web twin; set stages.dev.web.blue_green: true"):
        promote(qa, dev, Lines(), strategy="swap", timeout=60)


def test_promote_refuses_a_source_that_is_not_a_tested_release(world):
    dev, qa = world.stage("dev"), world.stage("qa")
    good = _good(world, dev, "promote-pre")
    other = world.build("worker-only")
    versions.register(dev, other.label, other.data, "worker only")
    eb = _eb(dev)
    eb.update_environment(ApplicationName=dev.application, EnvironmentName=dev.environments["worker"],
                          VersionLabel=other.label)
    with pytest.raises(ReleaseError, match="promote: stage dev's worker is not a tested release: Updating"):
        promote(dev, qa, Lines(), timeout=60)
    wait_until(lambda: _states(dev)["worker"].settled_on == other.label, 30, "worker on the other label", 0.05)
    with pytest.raises(ReleaseError, match=rf"tiers run different versions \(web on {good}, worker on "
                                           rf"{other.label}\)"):
        promote(dev, qa, Lines(), timeout=60)
    _good(world, dev, "promote-pre")
    with pytest.raises(ReleaseError, match="environment relapp-unprovisioned-web does not exist; run eb_tools "
                                           "provision unprovisioned first"):
        promote(dev, world.stage("unprovisioned"), Lines(), timeout=60)


def test_promote_into_another_account_copies_and_verifies_the_bundle(world):
    dev, other = world.stage("dev"), world.stage("other")
    good = _good(world, dev, "cross-account")
    assert versions.find(other, good) is None
    lines = Lines()
    promote(dev, other, lines, timeout=60, smoke="")
    _settled(other, good)
    copied = versions.find(other, good)
    assert copied and copied.bucket == f"elasticbeanstalk-us-east-1-{OTHER_ACCOUNT}"
    assert versions.read_bundle(other, copied) == versions.read_bundle(dev, versions.find(dev, good))
    assert any("sha256" in line and "verified" in line for line in lines), lines


def test_promote_of_a_label_whose_bundle_is_gone_says_so(world):
    dev, other = world.stage("dev"), world.stage("other")
    good = _good(world, dev, "bundle-gone")
    stored = versions.find(dev, good)
    assert stored
    dev.client("s3").delete_object(Bucket=stored.bucket, Key=stored.key)
    before = _states(other)
    with pytest.raises(ReleaseError, match=rf"version {good} is not in application relapp .* stage dev has no "
                                           "bundle of it to copy"):
        promote(dev, other, Lines(), timeout=60)
    assert _states(other) == before


def test_rollback_goes_back_to_the_previous_label(world, monkeypatch):
    dev = world.stage("dev")
    first = _good(world, dev, "rollback-1")
    _good(world, dev, "rollback-2")
    result = _cli_against(world, monkeypatch).invoke(cli.main, ["rollback", "dev", "--file", str(world.stage_file),
                                                                "--timeout", "60", "--output", "json"])
    assert result.exit_code == 0, result.output
    assert all(t["on_label"] for t in _released(json.loads(result.stdout), "dev", first, False).values())
    _settled(dev, first)
    with pytest.raises(ReleaseError, match="rollback: no version nope in application relapp"):
        rollback(dev, Lines(), to="nope")


def test_status_json_is_complete_and_flags_a_stage_whose_tiers_differ(world, monkeypatch):
    dev = world.stage("dev")
    good = _good(world, dev, "status")
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["status", "dev", "--file", str(world.stage_file), "--output", "json"])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output)
    assert report["consistent"] and report["label"] == good
    web = report["tiers"]["web"]
    assert web["instances"] == {good: 2} and web["health"] == "Green" and web["url"].endswith("elasticbeanstalk.com")
    assert web["events"] and {"date", "severity", "message"} <= set(web["events"][0])
    other = world.build("status-other")
    versions.register(dev, other.label, other.data, "")
    _eb(dev).update_environment(ApplicationName=dev.application, EnvironmentName=dev.environments["worker"],
                                VersionLabel=other.label)
    wait_until(lambda: _states(dev)["worker"].settled_on == other.label, 30, "worker moved", 0.05)
    result = runner.invoke(cli.main, ["status", "--file", str(world.stage_file), "--output", "json"])
    assert result.exit_code == 1
    reports = {r["stage"]: r for r in json.loads(result.output)}
    assert not reports["dev"]["consistent"] and reports["dev"]["label"] is None
    assert reports["unprovisioned"]["tiers"]["web"]["exists"] is False
    assert f"stages.other.account: {OTHER_ACCOUNT}: the credentials in use belong to account 123456789012" in \
        reports["other"]["error"]
    text = runner.invoke(cli.main, ["status", "dev", "--file", str(world.stage_file)])
    assert "INCONSISTENT" in text.output and f"  2 on {other.label}\n" in text.output
    assert reports["unprovisioned"]["provisioned"] is False and reports["dev"]["provisioned"] is True
    never = runner.invoke(cli.main, ["status", "unprovisioned", "--file", str(world.stage_file)])
    assert never.exit_code == 0, never.output
    assert "stage unprovisioned (relapp, us-west-2): not provisioned (eb_tools provision unprovisioned creates it)" \
        in never.output and "INCONSISTENT" not in never.output


def test_prune_shows_its_plan_asks_and_keeps_every_label_a_stage_runs_or_may_roll_back_to(world, monkeypatch):
    dev = world.stage("dev")
    older = _good(world, dev, "prune-1")
    current = _good(world, dev, "prune-2")
    spares = [world.build(f"spare-{n}") for n in range(3)]
    for spare in spares:
        versions.register(dev, spare.label, spare.data, "spare")
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
    runner = CliRunner()
    prune = ["versions", "dev", "--file", str(world.stage_file), "--prune", "--keep", "1"]
    declined = runner.invoke(cli.main, prune, input="n\n")
    assert declined.exit_code == 1 and "Delete the versions marked pruned from application relapp" in declined.output
    assert f"{spares[0].label}  " in declined.output
    assert "nothing changed: the plan was not confirmed" in declined.output

    def labels() -> set[str]:
        return {v["VersionLabel"] for v in _eb(dev).describe_application_versions(
            ApplicationName="relapp")["ApplicationVersions"]}

    assert {s.label for s in spares} <= labels()
    result = runner.invoke(cli.main, [*prune, "--yes", "--output", "json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)["applications"]  # one JSON document
    assert entry["application"] == "relapp" and {"dev", "qa", "mig"} <= set(entry["stages"]) and entry["exists"]
    assert {spares[0].label, spares[1].label} <= set(entry["deleted"]) and not {older, current} & set(entry["deleted"])
    assert {older, current, spares[2].label} <= labels() and not {spares[0].label, spares[1].label} & labels()
    row = entry["versions"][0]
    assert set(row) == {"label", "created", "used_by", "pruned"} and isinstance(row["used_by"], list)


def test_versions_of_every_stage_say_which_application_does_not_exist_yet(world, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
    result = CliRunner().invoke(cli.main, ["versions", "--file", str(world.stage_file), "--output", "json"])
    assert result.exit_code == 1  # stage other's credentials belong to another account
    entries = {tuple(e["stages"]): e for e in json.loads(result.stdout)["applications"]}
    assert entries[("unprovisioned",)] == {"application": "relapp", "region": "us-west-2", "stages": ["unprovisioned"],
                                            "exists": False, "versions": [], "deleted": []}
    assert "belong to account 123456789012" in entries[("other",)]["error"]
    assert entries[("dev", "qa", "mig")]["versions"]
    text = CliRunner().invoke(cli.main, ["versions", "unprovisioned", "--file", str(world.stage_file)])
    assert text.exit_code == 0 and text.output == \
        "application relapp (us-west-2): not created yet (eb_tools provision unprovisioned creates it)\n"
    legacy = CliRunner().invoke(cli.main, ["versions", "--stage", "unprovisioned", "--file", str(world.stage_file)])
    assert legacy.output == text.output


def test_the_version_limit_is_answered_with_the_way_out(world, monkeypatch):
    dev = world.stage("dev")
    count = len(_eb(dev).describe_application_versions()["ApplicationVersions"])
    monkeypatch.setattr(world.cloud.eb_settings, "max_application_versions", count)
    with pytest.raises(ReleaseError, match=r"limit of application versions .* eb_tools versions --prune"):
        _good(world, dev, "over-the-limit")


def test_missing_credentials_and_unknown_stages_are_one_line(world, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
    runner = CliRunner()
    # --to: --label's former name, still accepted
    result = runner.invoke(cli.main, ["rollback", "dev", "--file", str(world.stage_file), "--to", "x"])
    assert result.exit_code == 1 and result.output.strip().endswith(
        "configure them (aws configure, AWS_PROFILE, or stages.<name>.profile in the stage file)"), result.output
    assert "Traceback" not in result.output and "stage dev: no AWS credentials" in result.output
    result = runner.invoke(cli.main, ["promote", "dev", "qa", "--file", str(world.stage_file)])
    assert result.exit_code == 1 and result.output.startswith("Error: stage dev: no AWS credentials"), result.output
    result = runner.invoke(cli.main, ["promote", "dev", "nowhere", "--file", str(world.stage_file)])
    assert result.exit_code == 1 and "nowhere" in result.output and len(result.output.strip().splitlines()) == 1


def test_deploy_dry_run_prints_the_plan_and_changes_nothing(world, monkeypatch):
    dev = world.stage("dev")
    good = _good(world, dev, "dry-run-base")
    before = (_states(dev), len(_eb(dev).describe_application_versions(ApplicationName="relapp")[
        "ApplicationVersions"]))
    (world.root / "release-marker.txt").write_text("dry-run")
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
    result = CliRunner().invoke(cli.main, ["deploy", "dev", str(world.root), "--working-tree", "--dry-run",
                                           "--file", str(world.stage_file)])
    assert result.exit_code == 0, result.output
    assert "relapp-dev-web" in result.output and good in result.output and "-> nogit-" in result.output
    assert "dry run: nothing uploaded, nothing changed" in result.output
    as_json = CliRunner().invoke(cli.main, ["deploy", "dev", str(world.root), "--working-tree", "--dry-run",
                                            "--file", str(world.stage_file), "--output", "json"])
    assert as_json.exit_code == 0, as_json.output
    label = json.loads(as_json.stdout)["label"]
    tiers = _released(json.loads(as_json.stdout), "dev", label, True)
    assert label.startswith("nogit-") and not any(t["on_label"] for t in tiers.values())
    assert {t["label"] for t in tiers.values()} == {good}
    after = (_states(dev), len(_eb(dev).describe_application_versions(ApplicationName="relapp")[
        "ApplicationVersions"]))
    assert after == before


def test_a_deploy_to_an_environment_that_is_not_ready_is_refused_before_anything_changes(world, eb_seconds):
    dev = world.stage("dev")
    _good(world, dev, "not-ready-base")
    eb_seconds(world.cloud, 0.5)
    _eb(dev).update_environment(EnvironmentName=dev.environments["worker"], OptionSettings=[
        {"Namespace": "aws:autoscaling:asg", "OptionName": "MaxSize", "Value": "2"}])
    built = world.build("not-ready")
    with pytest.raises(ReleaseError, match="environment relapp-dev-worker is Updating, and Elastic Beanstalk "
                                           "accepts a new version only when it is Ready"):
        deliver(dev, built, Lines(), timeout=60, smoke="")
    assert versions.find(dev, built.label) is None  # not even uploaded
    wait_until(lambda: _states(dev)["worker"].status == "Ready", 30, "worker Ready", 0.05)


def test_a_failed_deploy_through_the_cli_exits_1_with_one_line_and_both_tiers_back(world, monkeypatch):
    dev = world.stage("dev")
    good = _good(world, dev, "cli-base")
    doomed = world.build("cli-fails")  # the label the CLI will build from the same tree
    eb = _eb(dev)
    worker_arn = eb.describe_environments(EnvironmentNames=[dev.environments["worker"]])["Environments"][0][
        "EnvironmentArn"]
    eb.update_tags_for_resource(ResourceArn=worker_arn, TagsToAdd=[{"Key": "eb-local:fail", "Value": doomed.label}])
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", world.cloud.url)
        result = CliRunner().invoke(cli.main, ["deploy", "dev", str(world.root), "--working-tree",
                                               "--file", str(world.stage_file), "--timeout", "60"])
        assert result.exit_code == 1, result.output
        last = result.output.strip().splitlines()[-1]
        assert last.startswith(f"Error: stage dev: {doomed.label} failed: worker: ") and \
            last.endswith(f"rolled back: web on {good} and worker on {good}, every instance, health Green"), last
        assert "worker  ERROR" in result.output  # the worker's events, prefixed by its tier
        _settled(dev, good)
    finally:
        eb.update_tags_for_resource(ResourceArn=worker_arn, TagsToRemove=["eb-local:fail"])


def test_after_a_swap_the_load_balancer_alarms_watch_the_live_twin(world):
    """provision gives the stage stack the load balancer of the web environment serving the stage's URL: after
    a swap that is the twin, whose load balancer the alarms must watch (not always <app>-<stage>-web's)."""
    dev, qa = world.stage("dev"), world.stage("qa")
    _good(world, dev, "alarms-swap")
    promote(dev, qa, Lines(), strategy="swap", timeout=60, smoke="")
    command.provision(world.stage_file, "qa", yes=True, echo=lambda _: None, session=local_session("us-east-1"),
                      endpoint_url=world.cloud.url, web_origin="http://127.0.0.1:8000", poll_seconds=0.05)
    live = qa.web_pair()[0]
    balancers = _eb(qa).describe_environment_resources(EnvironmentName=live)["EnvironmentResources"]["LoadBalancers"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in qa.client("cloudformation").describe_stacks(
        StackName=stage_stack_name("relapp", "qa"))["Stacks"][0]["Parameters"]}
    assert parameters[LOAD_BALANCER] == balancers[0]["Name"].split(":loadbalancer/", 1)[1]


def test_the_promote_plan_shows_what_was_tested_and_warns_where_the_destination_differs(world):
    """The plan names the bundle's and its lock's checksums and the platform the source ran the label on; a
    destination on another platform version, or holding other bytes under the label, is a warning line."""
    dev, qa = world.stage("dev"), world.stage("qa")
    good = _good(world, dev, "fingerprint")
    lines = Lines()
    promote(dev, qa, lines, dry_run=True, timeout=60, smoke="")
    data = versions.read_bundle(dev, versions.find(dev, good))
    assert any(f"tested on stage dev: bundle sha256 {hashlib.sha256(data).hexdigest()[:12]}, lock sha256 " in line
               and "platform Python 3.11 running on 64bit Amazon Linux 2023/" in line for line in lines), lines
    assert not any("WARNING" in line for line in lines)
    tested = fingerprint.read(dev, good, dev.live())
    other = fingerprint.Fingerprint("qa", tested.bundle, tested.lock, {
        "web": tested.platforms["web"].replace("Python 3.11", "Python 3.12"), "worker": tested.platforms["worker"]})
    [platform] = fingerprint.warnings(tested, other)
    assert platform.startswith("web runs platform Python 3.12 running on 64bit Amazon Linux 2023/") and \
        "but Python 3.11" in platform
    assert fingerprint.warnings(tested, fingerprint.Fingerprint("qa", None, None, tested.platforms)) == []
    [bytes_differ] = fingerprint.warnings(tested, fingerprint.Fingerprint("qa", "0" * 64, None, tested.platforms))
    assert "holds other bytes under this label" in bytes_differ




def _with_migrations(world: World, marker: str, scripts: dict[str, str]) -> Built:
    """A bundle of the repository with these migration scripts added (and no others of the tests')."""
    versions_dir = world.root / "core" / "migrations" / "versions"
    for name, text in scripts.items():
        (versions_dir / name).write_text(text)
    try:
        return world.build(marker)
    finally:
        for name in scripts:
            (versions_dir / name).unlink()


def test_a_rollback_across_a_contract_migration_is_refused_unless_forced(world):
    """Releases record the schema their code expects; back onto the expand release is safe, back past it the
    contract step breaks the code, and is refused with the migration's name until --force."""
    mig = world.stage("mig")
    before = _good(world, mig, "schema-before")
    expand = _with_migrations(world, "schema-expand", {"0006_expand.py": EXPAND})
    deliver(mig, expand, Lines(), timeout=60, smoke="")
    contract = _with_migrations(world, "schema-contract", {"0006_expand.py": EXPAND, "0007_contract.py": CONTRACT})
    lines = Lines()
    deliver(mig, contract, lines, timeout=60, smoke="")
    assert f"  schema: {contract.label}'s code expects 0007; the database has 0006" in lines, lines
    assert [(e["label"], e.get("schema"), e.get("database")) for e in history.read(mig)[-3:]] == [
        (before, "0005", "0005"), (expand.label, "0006", "0006"), (contract.label, "0007", "0007")]
    rollback(mig, Lines(), timeout=60, smoke="")  # to the expand release: its code does without the caption
    _settled(mig, expand.label)
    tiers = stage_status(mig)["tiers"]  # the database stays ahead of the code: migrations never run back
    assert {t: tiers[t]["schema"] for t in tiers} == {t: {"code": "0006", "database": "0007"} for t in tiers}
    refused = Lines()
    with pytest.raises(ReleaseError) as failure:
        rollback(mig, refused, to=before, timeout=60, smoke="")
    assert str(failure.value) == (
        f"stage mig: rollback of {before} refused: {before}'s code predates 0006, the expand step that contract "
        f"migration core/migrations/versions/0007_contract.py (from {contract.label}, applied on stage mig) "
        f"completes; --force puts it there anyway"), failure.value
    assert any(line.startswith("  REFUSED: ") for line in refused), refused
    _settled(mig, expand.label)  # nothing changed
    rollback(mig, Lines(), to=before, timeout=60, smoke="", force=True)
    _settled(mig, before)


def test_a_contract_migration_shipped_with_its_expand_step_is_refused(world):
    """Shipped together, a failed release would go back to code that still uses what the contract removes."""
    mig = world.stage("mig")
    if not history.read(mig):  # a stage whose database has migrations (a new one has no code to break)
        deliver(mig, world.build("schema-first"), Lines(), timeout=60, smoke="")
    running, lines = _states(mig)["web"].label, Lines()
    both = _with_migrations(world, "schema-both", {  # after the other test's pair, if it ran: a pair of its own
        "0006_expand.py": EXPAND, "0007_contract.py": CONTRACT,
        "1006_expand.py": EXPAND.replace('"0006"', '"1006"').replace('"0005"', '"0007"').replace("caption", "note"),
        "1007_contract.py": CONTRACT.replace('"0007"', '"1007"').replace('"0006"', '"1006"')
                                    .replace("caption", "note")})
    with pytest.raises(ReleaseError, match=f"stage mig: deploy of {both.label} refused: "):
        deliver(mig, both, lines, timeout=60, smoke="")
    assert f"  REFUSED: {both.label} ships contract migration core/migrations/versions/1007_contract.py with its " \
           "expand step 1006: the label a failed release goes back to still uses what it removes; ship 1006 in an " \
           "earlier release" in lines, lines
    assert _states(mig)["web"].label == running
