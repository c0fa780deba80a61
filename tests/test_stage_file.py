"""The stage file: the shipped one loads; every bad value is one line naming file, key path, value and rule."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from eb_tools import cli
from eb_tools import stage_file as stages
from eb_tools.stage_file import StageFileError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "eb_tools.yaml"
CERT = "arn:aws:acm:{region}:123456789012:certificate/0b0e7a2c-3f1e-4c55-9d4f-1a2b3c4d5e6f"
US_CERT = CERT.format(region="us-east-1")


def shipped() -> dict[str, Any]:
    return yaml.safe_load(SHIPPED.read_text())


def write(tmp_path: Path, data: dict[str, Any] | str) -> Path:
    path = tmp_path / "eb_tools.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def with_value(dotted: str, value: object) -> dict[str, Any]:
    """The shipped file with one key (a dotted path) set to `value`."""
    data = copy.deepcopy(shipped())
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


def error_of(path: Path) -> str:
    with pytest.raises(StageFileError) as caught:
        stages.load(path)
    return str(caught.value)


def test_shipped_file_loads_with_its_three_stages():
    stage_file = stages.load(SHIPPED)
    assert set(stage_file.stages) == {"local", "staging", "production"}
    production = stage_file.stage("production")
    assert production.region == stage_file.region  # the file's default region applies
    assert production.database and production.database.multi_az and production.database.deletion_protection
    assert production.database.read_replicas >= 1
    assert production.redis and production.redis.replicas >= 1
    assert production.web.min == 2 and production.web.max == 6
    assert stage_file.network(production.isolation).stages == ("production",)
    local = stage_file.stage("local")
    assert local.database and local.database.read_replicas and local.redis and not local.nat  # shaped like staging
    for stage in map(stage_file.stage, ("local", "staging", "production")):  # no domain yet: said so deliberately
        assert stage.domain is None and stage.plain_http and stage.mail.sender
    assert (production.mail.identity, production.mail.identity_name) == ("domain", "app.example.com")
    staging = stage_file.stage("staging")
    assert (staging.mail.identity, staging.mail.identity_name) == ("address", staging.mail.sender)
    # Each stage chooses how it deploys: the local stage as staging does, production on new instances only.
    assert local.web.deployment == staging.web.deployment and staging.web.deployment.policy == "Rolling"
    assert production.web.deployment.option_settings()[0] == ("DeploymentPolicy", "Immutable")


@pytest.mark.parametrize(("written", "days"), [(None, 0), (0, 0), (7, 7)])
def test_a_rotation_schedule_is_every_30_days_unless_the_stage_says_otherwise_or_none(written, days):
    assert stages.StageFile.model_validate(shipped()).stage("staging").database.rotation_days == 30
    data = with_value("stages.staging.database.rotation_days", written)
    database = stages.StageFile.model_validate(data).stage("staging").database
    assert (database.rotation_days, database.rotates) == (days, days > 0)


def test_a_tier_left_without_a_deployment_keeps_full_capacity_on_the_web_tier():
    data = shipped()
    del data["stages"]["staging"]["web"]["deployment"]
    data["stages"]["staging"]["worker"]["deployment"] = {"policy": "Rolling", "batch_size": "50%"}
    staging = stages.StageFile.model_validate(data).stage("staging")
    assert staging.web.deployment.option_settings() == [
        ("DeploymentPolicy", "RollingWithAdditionalBatch"), ("BatchSizeType", "Fixed"), ("BatchSize", "1")]
    assert staging.worker.deployment.option_settings() == [
        ("DeploymentPolicy", "Rolling"), ("BatchSizeType", "Percentage"), ("BatchSize", "50")]


BAD_VALUES = [
    pytest.param("stages.staging.web.min", 7, "stages.staging.web.min: 7: must be at most web.max (6)", id="min>max"),
    pytest.param("stages.staging.worker.min", 0, "stages.staging.worker.min: 0: must be at least 1", id="min<1"),
    pytest.param("stages.staging.database.engine", "postgres",
                 "stages.staging.database.engine: 'postgres': must be 'mariadb' or 'mysql'", id="unknown-engine"),
    pytest.param("stages.staging.account", "12345", "stages.staging.account: '12345': must be a 12-digit AWS "
                 "account id (quote it if it starts with 0)", id="bad-account"),
    pytest.param("stages.staging.database.read_replicas", 6,
                 "stages.staging.database.read_replicas: 6: must be at most 5", id="too-many-replicas"),
    pytest.param("stages.staging.database.max_storage_gb", 10,
                 "stages.staging.database.max_storage_gb: 10: must be at least 20", id="storage-floor"),
    pytest.param("stages.production.database.max_storage_gb", 40,
                 "stages.production.database.max_storage_gb: 40: must be at least allocated_storage_gb (50)",
                 id="max-storage<allocated"),
    pytest.param("stages.staging.database.backup_retention_days", 36,
                 "stages.staging.database.backup_retention_days: 36: must be at most 35", id="retention"),
    pytest.param("stages.staging.database.restore_goal_minutes", 0,
                 "stages.staging.database.restore_goal_minutes: 0: must be at least 1", id="restore-goal"),
    pytest.param("stages.staging.database.rotation_days", 1001, "stages.staging.database.rotation_days: 1001: must "
                 "be a number of days from 1 to 1000 (Secrets Manager's AutomaticallyAfterDays), or 0 or null for no "
                 "rotation schedule", id="rotation-too-long"),
    pytest.param("stages.staging.database.rotation_days", "30d", "stages.staging.database.rotation_days: '30d': "
                 "must be a number of days from 1 to 1000 (Secrets Manager's AutomaticallyAfterDays), or 0 or null "
                 "for no rotation schedule", id="rotation-not-days"),
    pytest.param("stages.staging.database.engine_version", 10.11,
                 "stages.staging.database.engine_version: 10.11: must be a string (quote it in YAML)",
                 id="unquoted-version"),
    pytest.param("stages.staging.domain", {"name": "app.example.com", "certificate_arn": US_CERT},
                 f"stages.staging.domain.certificate_arn: '{US_CERT}': must be a certificate "
                 "in the stage's region eu-west-1, not us-east-1", id="cert-other-region"),
    pytest.param("stages.staging.isolation", "production", "stages.staging.isolation: 'production': must "
                 "differ from production's: production has an isolation group of its own", id="shared-production"),
    pytest.param("stages.staging.redis.size", 3, "stages.staging.redis.size: 3: unknown key (allowed: node_type, "
                 "replicas)", id="unknown-key"),
    pytest.param("stages.staging.alarm_email", "ops", "stages.staging.alarm_email: 'ops': must be an e-mail address",
                 id="bad-email"),
    pytest.param("stages.staging.mail.from", "no-reply", "stages.staging.mail.from: 'no-reply': must be an e-mail "
                 "address", id="bad-sender"),
    pytest.param("stages.staging.mail.identity", "mailbox", "stages.staging.mail.identity: 'mailbox': must be "
                 "'address' or 'domain'", id="bad-identity"),
    pytest.param("stages.staging.mail.sender", "a@example.com", "stages.staging.mail.sender: 'a@example.com': "
                 "unknown key (allowed: from, identity)", id="mail-unknown-key"),
    pytest.param("stages.staging.worker.deployment", {"policy": "TrafficSplitting"},
                 "stages.staging.worker.deployment.policy: 'TrafficSplitting': must be 'AllAtOnce', 'Rolling', "
                 "'RollingWithAdditionalBatch' or 'Immutable'", id="worker-traffic-splitting"),
    pytest.param("stages.staging.web.deployment", {"policy": "Immutable", "batch_size": 2},
                 "stages.staging.web.deployment.batch_size: 2: applies to Rolling and RollingWithAdditionalBatch "
                 "only; Immutable deploys to every instance (or new ones) at once: leave it out",
                 id="batch-size-unbatched"),
    pytest.param("stages.staging.web.deployment", {"policy": "Rolling", "batch_size": "150%"},
                 "stages.staging.web.deployment.batch_size: '150%': must be a number of instances (1 to 10000) or "
                 "a quoted percentage from '1%' to '100%'", id="batch-size-percent"),
    pytest.param("stages.staging.plain_http", "sometimes", "stages.staging.plain_http: 'sometimes': must be true or "
                 "false", id="bad-plain-http"),
    pytest.param("stages.staging.bundle", {"wheels": True}, "stages.staging.bundle.wheels: true: unknown key "
                 "(allowed: wheelhouse)", id="bundle-unknown-key"),
    pytest.param("stages.staging.web.instance_type", "t4g.small", "stages.staging.bundle.wheelhouse: true: a "
                 "wheelhouse serves one architecture, and the tiers' instance types mix them (t4g.small: aarch64, "
                 "t3.small: x86_64): give both tiers Graviton types or neither", id="wheelhouse-mixed-arch"),
    pytest.param("platform", "Docker running on 64bit Amazon Linux 2023", "stages.staging.bundle.wheelhouse: true: "
                 "a wheelhouse needs the platform's Python version: 'Docker running on 64bit Amazon Linux 2023' is "
                 "not 'Python X.Y running on 64bit Amazon Linux 2023' (or 2)", id="wheelhouse-not-python"),
]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_VALUES)
def test_each_bad_value_is_one_line(tmp_path, key, value, expected):
    data = with_value(key, value)
    if "bundle.wheelhouse:" in expected:  # the checks that apply to a stage carrying one
        data["stages"]["staging"]["bundle"] = {"wheelhouse": True}
    message = error_of(write(tmp_path, data))
    assert message == f"{tmp_path / 'eb_tools.yaml'}: {expected}"
    assert "\n" not in message


def test_a_wheelhouse_is_chosen_per_stage_and_targets_its_platform(tmp_path):
    assert all(stages.load(SHIPPED).stage(name).wheelhouse_target() is None  # the default: the lock only
               for name in ("local", "staging", "production"))
    data = with_value("stages.production.bundle", {"wheelhouse": True})
    data["stages"]["production"]["web"]["instance_type"] = "m7g.large"
    data["stages"]["production"]["worker"]["instance_type"] = "c6gn.medium"
    target = stages.load(write(tmp_path, data)).stage("production").wheelhouse_target()
    assert target is not None and target.name == "cp311-manylinux_2_34_aarch64"


def test_a_required_key_that_is_missing_is_named(tmp_path):
    data = shipped()
    del data["stages"]["staging"]["web"]["instance_type"]
    assert error_of(write(tmp_path, data)).endswith(": stages.staging.web.instance_type: required")


def test_a_stage_without_https_must_say_so(tmp_path):
    """No domain means plain http at the EB address, where a Secure session cookie never comes back: never
    the silent default, for any stage."""
    for name in ("local", "staging", "production"):
        data = shipped()
        del data["stages"][name]["plain_http"]
        assert error_of(write(tmp_path, data)).endswith(
            f": stages.{name}.domain: required unless plain_http: true: HTTPS on the load balancer needs a domain "
            "and its certificate; a stage served over plain http at its elasticbeanstalk.com address must say "
            "plain_http: true (its session cookie then goes without the Secure flag)")


def test_plain_http_and_a_domain_contradict(tmp_path):
    data = with_value("stages.staging.domain", {"name": "app.example.com", "certificate_arn": CERT.format(
        region="eu-west-1")})
    assert error_of(write(tmp_path, data)).endswith(
        ": stages.staging.plain_http: true: must be left out with a domain: the stage is served over HTTPS")
    del data["stages"]["staging"]["plain_http"]
    assert stages.load(write(tmp_path, data)).stage("staging").domain


def test_a_stage_without_a_sender_is_refused(tmp_path):
    data = shipped()
    del data["stages"]["staging"]["mail"]
    assert error_of(write(tmp_path, data)).endswith(
        ": stages.staging.mail: required: the address the stage's mail comes from, e.g. mail: {from: "
        "no-reply@app.example.com}; SES sends only from an identity the stage verifies")


def test_stages_of_one_network_must_agree_on_nat(tmp_path):
    data = with_value("stages.qa", copy.deepcopy(shipped()["stages"]["staging"]) | {"nat": True})
    assert error_of(write(tmp_path, data)).endswith(
        ": stages.qa.nat: true: must equal staging's (false): stages of isolation group nonprod share one network")


def test_missing_file(tmp_path):
    assert error_of(tmp_path / "eb_tools.yaml") == f"{tmp_path / 'eb_tools.yaml'}: not found (the stage file; see " \
                                                   "the README)"


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("application: [oppima\n", "line 2, column 1: malformed YAML: expected ',' or ']', but got "
                 "'<stream end>'", id="unclosed"),
    pytest.param("stages:\n  a: {}\n  a: {}\n", "line 3, column 3: malformed YAML: duplicate key 'a'",
                 id="duplicate-key"),
    pytest.param("- just\n- a list\n", "must be a mapping with application, region, platform and stages",
                 id="not-a-mapping"),
])
def test_malformed_yaml(tmp_path, text, expected):
    message = error_of(write(tmp_path, text))
    assert message == f"{tmp_path / 'eb_tools.yaml'}: {expected}"


def test_unknown_stage_lists_the_defined_ones():
    with pytest.raises(StageFileError) as caught:
        stages.load(SHIPPED).stage("prod")
    assert str(caught.value).endswith(": stages.prod: no such stage (defined: local, production, staging)")


def test_relative_paths_are_shown_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, with_value("stages.staging.web.min", 7))
    assert error_of(Path("eb_tools.yaml")).startswith("eb_tools.yaml: stages.staging.web.min: 7: ")


def test_every_problem_is_shown_on_a_line_of_its_own_with_its_key_path(tmp_path):
    data = with_value("stages.staging.web.min", "many")
    data["stages"]["staging"]["worker"]["max"] = "lots"
    data["stages"]["production"]["colour"] = "blue"
    path = write(tmp_path, data)
    lines = error_of(path).splitlines()
    assert lines[:2] == [f"{path}: stages.staging.web.min: 'many': must be a whole number",
                         f"{path}: stages.staging.worker.max: 'lots': must be a whole number"]
    assert len(lines) == 3 and lines[2].startswith(f"{path}: stages.production.colour: 'blue': unknown key (allowed: ")
    result = CliRunner().invoke(cli.main, ["status", "staging", "--file", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert [line.split(": ")[2] for line in result.output.splitlines()] == [
        "stages.staging.web.min", "stages.staging.worker.max", "stages.production.colour"]
    assert all(line.startswith(f"Error: {path}: ") for line in result.output.splitlines())
