"""`eb_tools check`: this repository passes; each broken bundle yields exactly its finding."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eb_tools.check import run

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = Path(__file__).resolve().parent / "bundles"
EB_TOOLS = str(Path(sys.executable).parent / "eb_tools")

# case -> (file, line, rule, words in the message)
EXPECTED = {
    "bad_yaml": (".ebextensions/02_broken.config", 4, "E001", "YAML syntax error"),
    "unknown_namespace": (".ebextensions/02_typo.config", 2, "E102", "did you mean 'aws:autoscaling:asg'"),
    "misspelt_option": (".ebextensions/02_typo.config", 3, "E103", "did you mean 'MinSize'"),
    "out_of_range": (".ebextensions/02_range.config", 4, "E104", "900 is out of range 1..600"),
    "tier_specific": (".ebextensions/02_alb.config", 3, "E105", "only in web environments"),
    "non_executable_hook": (".platform/hooks/postdeploy/02_notify.sh", None, "E501", "not executable"),
    "crlf_hook": (".platform/hooks/prebuild/01_build.sh", 1, "E503", "CRLF"),
    "hook_without_shebang": (".platform/hooks/predeploy/02_plain.sh", 1, "E502", "no shebang"),
    "bad_cron": ("cron.yaml", 5, "E302", "minute value '61' is out of range 0-59"),
    "procfile_without_web": ("Procfile", 1, "E402", "no 'web:' process"),
    "nginx_syntax_error": (".platform/nginx/conf.d/20_typo.conf", 2, "E601",
                           'unknown directive "client_max_body_sizee"'),
    "moto_in_requirements": ("requirements.txt", 3, "E702", "moto"),
}


def make_bundle(tmp_path: Path, case: str | None = None) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "clean", bundle)  # copies modes too: hooks stay executable
    if case:
        shutil.copytree(BUNDLES / "cases" / case, bundle, dirs_exist_ok=True)
    return bundle


def test_this_repository_passes(tmp_path):
    result = subprocess.run([EB_TOOLS, "check", str(ROOT), "--output", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout) == []


def test_the_clean_corpus_bundle_passes(tmp_path):
    assert run(make_bundle(tmp_path)) == []


def test_every_case_has_an_expectation():
    assert sorted(p.name for p in (BUNDLES / "cases").iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_bundle_yields_exactly_its_finding(tmp_path, case):
    file, line, rule, words = EXPECTED[case]
    findings = run(make_bundle(tmp_path, case))
    assert len(findings) == 1, [f.as_text() for f in findings]
    finding = findings[0]
    assert (finding.file, finding.line, finding.rule) == (file, line, rule), finding.as_text()
    assert words in finding.message and finding.fix and finding.severity == "error"


def test_cli_exit_codes_and_text(tmp_path):
    broken = make_bundle(tmp_path, "misspelt_option")
    result = subprocess.run([EB_TOOLS, "check", str(broken)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        ".ebextensions/02_typo.config:3: E103 unknown option 'MinSzie' in aws:autoscaling:asg "
        "(did you mean 'MinSize'?). Fix: options of this namespace: see "
        "https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html"
        "#command-options-general-autoscalingasg"
    ]
    assert subprocess.run([EB_TOOLS, "check", str(tmp_path / "missing")], capture_output=True).returncode == 2
    assert subprocess.run([EB_TOOLS, "check", "--output", "xml"], capture_output=True).returncode == 2


def test_option_list_form_and_values(tmp_path):
    bundle = make_bundle(tmp_path)
    (bundle / ".ebextensions" / "02_list.config").write_text(
        "option_settings:\n"
        "  - namespace: aws:elasticbeanstalk:command\n"
        "    option_name: DeploymentPolicy\n"
        "    value: RollingWithExtraBatch\n"
        "  - namespace: aws:elasticbeanstalk:cloudwatch:logs\n"
        "    option_name: RetentionInDays\n"
        "    value: 30\n"
        "  - namespace: aws:autoscaling:updatepolicy:rollingupdate\n"
        "    option_name: PauseTime\n"
        "    value: 5 minutes\n"
        "files:\n"
        "  etc/relative:\n"
        "    content: x\n"
        "    mode: 644\n"
    )
    found = {(f.line, f.rule) for f in run(bundle)}
    assert found == {(4, "E104"), (10, "E104"), (12, "E110"), (14, "E110")}


def test_ignored_paths_are_not_checked(tmp_path):
    bundle = make_bundle(tmp_path)
    (bundle / "tests").mkdir()
    (bundle / "tests" / "requirements.txt").write_text("pytest\n")
    assert run(bundle) == []
    (bundle / "requirements.txt").unlink()
    assert [f.rule for f in run(bundle)] == ["E701"]


def test_json_output_is_what_ci_reads(tmp_path):
    """`--output json`: a list with file, line, rule, message, fix and severity per finding; exit 1."""
    broken = make_bundle(tmp_path, "bad_cron")
    result = subprocess.run([EB_TOOLS, "check", str(broken), "--output", "json"], capture_output=True, text=True)
    assert result.returncode == 1
    [finding] = json.loads(result.stdout)
    assert finding == {"file": "cron.yaml", "line": 5, "rule": "E302", "severity": "error",
                       "message": "schedule '61 3 * * *': minute value '61' is out of range 0-59",
                       "fix": "use five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *'"}


def test_resources_go_through_cfn_lint(tmp_path):
    bundle = make_bundle(tmp_path)
    (bundle / ".ebextensions" / "03_resources.config").write_text(
        "Resources:\n"
        "  UploadsQueue:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      VisibilityTimeout: 60\n"
        "  Alarm:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      BucketNam: typo\n"
        "  Ingress:\n"
        "    Type: AWS::EC2::SecurityGroupIngress\n"
        "    Properties:\n"
        "      GroupId: {\"Fn::GetAtt\": [AWSEBSecurityGroup, GroupId]}\n"
        "      IpProtocol: tcp\n"
        "      FromPort: 443\n"
        "      ToPort: 443\n"
        "      CidrIp: 0.0.0.0/0\n"
    )
    findings = run(bundle)
    assert [(f.line, f.rule) for f in findings] == [(6, "E201")], [f.as_text() for f in findings]
    assert "BucketNam" in findings[0].message


def test_bundle_over_the_size_limit(tmp_path):
    bundle = make_bundle(tmp_path)
    with open(bundle / "dataset.bin", "wb") as sparse:  # sparse: no disk space used, nothing read
        sparse.truncate(501 * 1024 * 1024)
    findings = run(bundle)
    assert [f.rule for f in findings] == ["E801"] and "dataset.bin" in findings[0].fix
