"""`eb_tools check`: this repository and the real-world corpus pass; each broken bundle yields exactly its finding."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from eb_tools.archive import extract
from eb_tools.bundle import build
from eb_tools.check import run
from eb_tools.check import template as eb_template
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding, Rule
from eb_tools.check.runner import CRASHED, rule_modules
from eb_tools.errors import ReleaseError
from eb_tools.release.deploy import prepare
from eb_tools.wheelhouse import Target
from tests.wheels import make_wheel, pinned

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = Path(__file__).resolve().parent / "bundles"
CORPUS = Path(__file__).resolve().parent / "ebextensions_corpus"
EB_TOOLS = str(Path(sys.executable).parent / "eb_tools")
GUIDE = "https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/"
X86 = Target((3, 11), "x86_64", 34)

# case -> (file, line, rule, words in the message)
EXPECTED = {
    "bad_yaml": (".ebextensions/02_broken.config", 4, "E001", "YAML syntax error"),
    "unknown_namespace": (".ebextensions/02_typo.config", 2, "E102", "did you mean 'aws:autoscaling:asg'"),
    "misspelt_option": (".ebextensions/02_typo.config", 3, "E103", "did you mean 'MinSize'"),
    "out_of_range": (".ebextensions/02_range.config", 4, "E104", "900 is out of range 1..600"),
    "tier_specific": (".ebextensions/02_alb.config", 3, "E105", "only in web environments"),
    "ec2_key_pair": (".ebextensions/02_ssh.config", 3, "W130", "EC2KeyName 'agency-laptop' gives the instances a "
                                                               "key pair for SSH"),
    "ssh_ingress": (".ebextensions/02_ssh.config", 9, "W230", "AWSEBSecurityGroup: an ingress rule admits port 22"),
    "non_executable_hook": (".platform/hooks/postdeploy/02_notify.sh", None, "W501", "not executable"),
    "crlf_hook": (".platform/hooks/prebuild/01_build.sh", 1, "E503", "CRLF"),
    "hook_without_shebang": (".platform/hooks/predeploy/02_plain.sh", 1, "E502", "no shebang"),
    "bad_cron": ("cron.yaml", 5, "E302", "minute value '61' is out of range 0-59"),
    "procfile_without_web": ("Procfile", 1, "E402", "no 'web:' process"),
    "nginx_syntax_error": (".platform/nginx/conf.d/20_typo.conf", 2, "E601",
                           'unknown directive "client_max_body_sizee"'),
    "moto_in_requirements": ("requirements.txt", 3, "E702", "moto"),
    "unpinned_requirement": ("requirements.txt", 2, "W703", "gunicorn>=22 allows more than one version"),
    "requirement_without_hash": ("requirements.txt", 2, "E704", "gunicorn has no --hash"),
    "no_hashes": ("requirements.txt", None, "W705", "no requirement carries a --hash"),
    "stale_lock": ("requirements.txt", 1, "E706", "requirements.in changed since the lock was made"),
    "unreadable_requirement": ("requirements.txt", 2, "E707", "not a requirement pip reads"),
    "destructive_migration": ("db/versions/0002_drop_size.py", 9, "E951", "drops column uploads.size"),
    "not_null_column": ("db/versions/0002_owner.py", 9, "E952", "NOT NULL column owner without a server default"),
    "narrowing_type": ("db/versions/0002_shorter.py", 9, "E953", "from sa.String(255) to sa.String(50)"),
    "contract_without_expand": ("db/versions/0002_drop_size.py", 7, "E954", "contract_of = '0001' names no earlier"),
    "migration_that_does_not_parse": ("db/versions/0002_half_written.py", 9, "E955",
                                      "does not parse: '(' was never closed"),
}
# The corpus's warnings, by the class of the issue that says they are warnings: tier-specific options and
# references to one tier's EB resources in a bundle without a stage file, and cfn-lint's warnings.
CORPUS_WARNINGS = {"W105", "W202", "W201"}


def make_bundle(tmp_path: Path, case: str | None = None) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "clean", bundle)  # copies modes too: hooks stay executable
    if case:
        shutil.copytree(BUNDLES / "cases" / case, bundle, dirs_exist_ok=True)
    return bundle


def add_config(bundle: Path, name: str, text: str) -> None:
    (bundle / ".ebextensions" / name).write_text(text)


def found(bundle: Path) -> list[tuple[int | None, str]]:
    return [(f.line, f.rule.id) for f in run(bundle)]


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
    assert (finding.file, finding.line, finding.rule.id) == (file, line, rule), finding.as_text()
    assert words in finding.message and finding.fix
    assert finding.severity == {"E": "error", "W": "warning"}[rule[0]]


def corpus_entries() -> list[Path]:
    """Each file is a bundle's only configuration file; each folder, the configuration files of one bundle."""
    return sorted(CORPUS.iterdir())


def corpus_files(entry: Path) -> list[Path]:
    return [entry] if entry.is_file() else sorted(entry.glob("*.config"))


def test_the_corpus_is_real_world_configuration():
    files = [f for entry in corpus_entries() for f in corpus_files(entry)]
    assert len(files) >= 25
    for file in files:
        origin = file.read_text().splitlines()[0]
        assert origin.startswith("# Origin: ") and len(origin.split()) >= 4, f"{file.name}: {origin!r}"
    assert any("awsdocs/aws-elastic-beanstalk-developer-guide" in f.read_text() for f in files)


@pytest.mark.parametrize("entry", corpus_entries(), ids=lambda p: p.name)
def test_real_world_configuration_passes_clean(tmp_path, entry):
    """EB accepts every file of the corpus: no errors; warnings only of the classes that are warnings."""
    bundle = make_bundle(tmp_path)
    for file in corpus_files(entry):
        shutil.copy(file, bundle / ".ebextensions" / file.name)
    findings = run(bundle)
    unexpected = [f.as_text() for f in findings if f.fails or f.rule.id not in CORPUS_WARNINGS]
    assert unexpected == []


def test_ssh_source_restriction_and_open_ingress_are_warned_about(tmp_path):
    bundle = make_bundle(tmp_path)
    add_config(bundle, "02_ssh.config", "option_settings:\n  aws:autoscaling:launchconfiguration:\n"
               "    SSHSourceRestriction: tcp, 22, 22, 10.0.0.0/8\n"
               "Resources:\n  Everything:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n"
               "      GroupId: sg-12345678\n      IpProtocol: '-1'\n      CidrIp: 10.0.0.0/8\n")
    add_config(bundle, "03_https.config", "option_settings:\n  aws:autoscaling:launchconfiguration:\n"
               "    SSHSourceRestriction: tcp, 443, 443, 10.0.0.0/8\n")
    assert found(bundle) == [(3, "W131"), (5, "W230")]  # 443 alone opens no SSH


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
    assert result.stderr.splitlines() == [
        f"1 error(s), 0 warning(s) in {broken}",
        f"  E103 unknown option in a known namespace: {GUIDE}command-options-general.html",
    ]
    assert subprocess.run([EB_TOOLS, "check", str(tmp_path / "missing")], capture_output=True).returncode == 2
    assert subprocess.run([EB_TOOLS, "check", "--output", "xml"], capture_output=True).returncode == 2


def test_tier_specific_options_of_a_web_only_bundle_are_warnings_that_pass(tmp_path):
    """Without a stage file nothing says the bundle goes to a worker: a warning, and the check passes."""
    bundle = make_bundle(tmp_path, "tier_specific")
    (bundle / "eb_tools.yaml").unlink()
    result = subprocess.run([EB_TOOLS, "check", str(bundle)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    [line] = result.stdout.splitlines()
    assert line.startswith(".ebextensions/02_alb.config:3: W105 aws:elbv2:loadbalancer IdleTimeout is tier-specific")
    assert "fine while this bundle goes only to web environments" in line
    assert result.stderr.splitlines()[0] == f"{bundle}: bundle OK, 1 warning(s)"
    as_json = subprocess.run([EB_TOOLS, "check", str(bundle), "--output", "json"], capture_output=True, text=True)
    assert as_json.returncode == 0
    assert [(f["rule"], f["severity"]) for f in json.loads(as_json.stdout)] == [("W105", "warning")]


def test_deploy_refuses_errors_only(tmp_path):
    """`eb_tools deploy` builds a bundle whose check has warnings alone, and refuses one with an error."""
    bundle = make_bundle(tmp_path, "tier_specific")
    (bundle / "eb_tools.yaml").unlink()
    assert prepare(bundle, tmp_path / "out", working_tree=True).data
    add_config(bundle, "03_bad.config", "option_settings:\n  aws:autoscaling:asg:\n    MinSize: zero\n")
    with pytest.raises(ReleaseError, match=r"eb_tools check: 1 problem\(s\) in .*03_bad.config:3: E104"):
        prepare(bundle, tmp_path / "out", working_tree=True)


def wheelhouse_bundle(tmp_path: Path, *tags: str) -> Path:
    """The clean bundle built for x86_64 with a wheelhouse of one wheel of each tag (from the cache, so no pip
    download), unpacked as EB unpacks it."""
    bundle = make_bundle(tmp_path)
    cache = bundle / ".cache" / "wheelhouse" / X86.name
    wheels = [make_wheel(cache, f"pkg{index}", tag=tag) for index, tag in enumerate(tags or ("py3-none-any",))]
    (bundle / "requirements.txt").write_text(pinned(*wheels))
    (bundle / ".ebignore").write_text(".cache/\n")
    built = build(bundle, tmp_path / "out", working_tree=True, target=X86)
    extract(built.path.read_bytes(), tmp_path / "unpacked")
    return tmp_path / "unpacked"


def test_a_bundle_with_its_wheelhouse_passes_and_its_zip_is_checked_as_unpacked(tmp_path):
    unpacked = wheelhouse_bundle(tmp_path, "py3-none-any", "cp311-cp311-manylinux_2_28_x86_64")
    assert run(unpacked) == []
    [zipped] = (tmp_path / "out").glob("*.zip")
    result = subprocess.run([EB_TOOLS, "check", str(zipped)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr.startswith(f"{zipped}: bundle OK"), result.stdout


def test_a_wheelhouse_that_misses_a_requirement_or_holds_another_platform_fails(tmp_path):
    unpacked = wheelhouse_bundle(tmp_path, "py3-none-any", "cp311-cp311-manylinux_2_17_x86_64")
    [other] = unpacked.glob("wheelhouse/pkg1-*.whl")
    other.rename(unpacked / "wheelhouse" / "pkg1-1.0-cp311-cp311-manylinux_2_17_aarch64.whl")
    (unpacked / "wheelhouse" / "pkg0-1.0-py3-none-any.whl").unlink()
    findings = [(f.file, f.line, f.rule.id) for f in run(unpacked)]
    assert findings == [("requirements.txt", 1, "E708"), ("requirements.txt", 3, "E708"),
                        ("wheelhouse/pkg1-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", None, "E709")]
    texts = [f.as_text() for f in run(unpacked)]
    assert texts[0].startswith("requirements.txt:1: E708 pkg0==1.0 has no wheel for cp311-manylinux_2_34_x86_64 "
                               "in wheelhouse/ matching its hashes")
    assert "does not run on cp311-manylinux_2_34_x86_64" in texts[2] and "eb_tools bundle --stage STAGE" in texts[2]


def test_a_wheelhouse_whose_platform_is_not_named_is_a_notice(tmp_path):
    unpacked = wheelhouse_bundle(tmp_path)
    lock = (unpacked / "requirements.txt").read_text()
    (unpacked / "requirements.txt").write_text(lock.split("# eb_tools wheelhouse:")[0] + "-f wheelhouse\n")
    assert [(f.file, f.rule.id) for f in run(unpacked)] == [("requirements.txt", "N710")]


def test_option_list_form_and_values(tmp_path):
    bundle = make_bundle(tmp_path)
    add_config(bundle, "02_list.config",
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
               "  - option_name: DJANGO_SETTINGS_MODULE\n"  # no namespace: an environment property
               "    value: app.settings\n"
               "  - namespace: aws:elasticbeanstalk:command\n"
               "    resource_name: Nightly\n"  # only scheduled actions name a resource
               "    option_name: Timeout\n"
               "    value: 600\n"
               "files:\n"
               "  etc/relative:\n"
               "    content: x\n")
    assert sorted(found(bundle)) == [(4, "E104"), (10, "E104"), (13, "E106"), (18, "E110")]


QUEUE_FROM_OPTION = ("Resources:\n  Jobs:\n    Type: AWS::SQS::Queue\n    Properties:\n"
                     "      QueueName: {\"Fn::GetOptionSetting\": {OptionName: QueueName}}\n")


@pytest.mark.parametrize(("text", "line"), [
    ("option_settings:\n  aws:elasticbeanstalk:application:environment: oops\n", 2),
    # the same in a file the template reads too (Resources, Fn::GetOptionSetting): still one finding
    ("option_settings:\n  aws:elasticbeanstalk:customoption:\n    QueueName: jobs\n"
     "  aws:elasticbeanstalk:application:environment: oops\n" + QUEUE_FROM_OPTION, 4),
    ("option_settings:\n  Nightly.aws:autoscaling:scheduledaction: oops\n", 2),
    ("option_settings:\n  - namespace: aws:autoscaling:asg\n    option_name: MinSize\n    value: 1\n  - oops\n", 5),
    ("option_settings:\n  - namespace: aws:elasticbeanstalk:application:environment\n    value: oops\n", 2),
    ("option_settings: oops\n" + QUEUE_FROM_OPTION, 1),
])
def test_malformed_option_settings_are_one_error_wherever_they_are(tmp_path: Path, text: str, line: int) -> None:
    """A setting EB cannot read as a map (EB refuses the bundle) is one E106 at its line, with a fix: the
    rule and the template read option_settings through one parser, and the template takes what it can."""
    bundle = make_bundle(tmp_path)
    add_config(bundle, "03_oops.config", text)
    findings = run(bundle)
    assert [(f.file, f.line, f.rule.id) for f in findings] == [(".ebextensions/03_oops.config", line, "E106")], \
        [f.as_text() for f in findings]
    assert findings[0].fails and findings[0].fix
    if "Resources" in text:  # the template is built, with what the parser read
        built = eb_template.build(CheckContext.for_path(bundle))
        assert built is not None
        default = {"Default": "jobs"} if "QueueName: jobs" in text else {}
        assert built.body["Parameters"]["OptionSettingQueueName"] == {"Type": "String", **default}


@pytest.mark.parametrize(("written", "expected"), [
    ('"000644"', []), ('"00644"', []), ('"0644"', []), ("'644'", []), ("644", []), ('"120400"', []),
    ("0644", [(5, "W110")]),  # YAML 1.1 reads the number 420: EB applies mode 0420
    ("000755", [(5, "E110")]),  # the number 493, which is no octal mode: cfn-init fails
    ('"rw-r--r--"', [(5, "E110")]), ("true", [(5, "E110")]),
])
def test_file_modes_as_eb_reads_them(tmp_path, written, expected):
    bundle = make_bundle(tmp_path)
    add_config(bundle, "02_files.config", f"files:\n  /etc/app/x.conf:\n    content: x\n    owner: root\n"
                                          f"    mode: {written}\n")
    assert found(bundle) == expected


def test_windows_configuration(tmp_path):
    """Windows platforms: drive paths, waitAfterCompletion (seconds or forever); a relative path is still wrong."""
    bundle = make_bundle(tmp_path)
    add_config(bundle, "02_windows.config",
               "files:\n"
               "  \"C:\\\\inetpub\\\\app.config\":\n    content: x\n"
               "  \"c:/temp/setup.ps1\":\n    content: x\n"
               "  \"temp\\\\relative.ps1\":\n    content: x\n"
               "commands:\n"
               "  01_reboot:\n    command: shutdown /r\n    waitAfterCompletion: forever\n"
               "container_commands:\n"
               "  02_setup:\n    command: powershell -File c:\\\\temp\\\\setup.ps1\n    waitAfterCompletion: soon\n")
    assert found(bundle) == [(6, "E110"), (15, "E112")]


def test_namespaces_of_other_platforms_and_of_the_classic_load_balancer(tmp_path):
    bundle = make_bundle(tmp_path)
    add_config(bundle, "02_platforms.config",
               "option_settings:\n"
               "  aws:elasticbeanstalk:container:nodejs:\n    NodeCommand: npm start\n"
               "  aws:elasticbeanstalk:container:php:phpini:\n    document_root: /public\n    memory_limit: 256M\n"
               "  aws:elasticbeanstalk:container:tomcat:jvmoptions:\n    Xmx: 512m\n    -XX:+UseG1GC: ''\n"
               "  aws:elasticbeanstalk:container:dotnet:apppool:\n    Enable 32-bit Applications: 'False'\n"
               "  aws:elasticbeanstalk:customoption:\n    CacheNodeType: cache.t3.micro\n"
               "  aws:elb:policies:tls:\n    SSLReferencePolicy: ELBSecurityPolicy-TLS-1-2-2017-01\n"
               "    LoadBalancerPorts: 443\n"
               "  aws:elb:listener:443:\n    ListenerProtocol: HTTPS\n    InstancePort: 80\n"
               "  aws:elb:listener:8443:\n    ListenerProtocl: HTTPS\n")
    # the Classic Load Balancer's options are tier-specific (warnings here: no stage file); a typo is still one
    assert found(bundle) == [(15, "W105"), (16, "W105"), (18, "W105"), (19, "W105"), (21, "E103"), (21, "W105")]


def test_dangling_symlink_is_one_finding_and_the_other_checks_run(tmp_path):
    bundle = make_bundle(tmp_path, "misspelt_option")
    os.symlink("../../../gone.sh", bundle / ".platform" / "hooks" / "predeploy" / "02_gone.sh")
    os.symlink("nowhere.config", bundle / ".ebextensions" / "03_gone.config")
    findings = run(bundle)
    assert [(f.file, f.rule.id) for f in findings] == [
        (".ebextensions/02_typo.config", "E103"),
        (".ebextensions/03_gone.config", "E802"),
        (".platform/hooks/predeploy/02_gone.sh", "E802"),
    ]
    assert "dangling" in findings[1].message and "'nowhere.config'" in findings[1].message
    result = subprocess.run([EB_TOOLS, "check", str(bundle)], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_a_rule_that_crashes_becomes_one_finding_and_the_others_still_run(tmp_path):
    def crashing(context: CheckContext) -> Iterator[Finding]:
        yield Finding("Procfile", 1, Rule("W999", "before the crash", ""), "kept")
        context.text("requirements.txt")
        raise KeyError("boom")

    broken = types.ModuleType("eb_tools.check.rules.broken")
    broken.check = crashing  # type: ignore[attr-defined]
    cron = next(m for m in rule_modules() if m.__name__.endswith(".cron"))
    findings = run(make_bundle(tmp_path, "bad_cron"), modules=[broken, cron])
    assert [(f.file, f.rule.id) for f in findings] == [("Procfile", "W999"), ("cron.yaml", "E302"),
                                                        ("requirements.txt", "E900")]
    assert findings[2].message == "the broken check crashed on requirements.txt: KeyError: 'boom'"


def registry() -> dict[str, Rule]:
    """Every rule `check` can report, by id (cfn-lint's rule list, for this bundle checker)."""
    rules: list[Rule] = [CRASHED]
    for module in rule_modules():
        rules.extend(module.RULES)
    return {rule.id: rule for rule in sorted(rules)}


def test_rules_carry_their_metadata():
    ids = [rule.id for module in rule_modules() for rule in module.RULES]
    assert len(ids) == len(set(ids)) and set(ids) < set(registry())
    for rule in registry().values():
        assert rule.shortdesc and (rule.source_url.startswith(GUIDE) or rule.id == "E900"), rule


def test_json_output_is_what_ci_reads(tmp_path):
    """`--output json`: per finding its place, rule (with its short description and source) and fix; exit 1."""
    broken = make_bundle(tmp_path, "bad_cron")
    result = subprocess.run([EB_TOOLS, "check", str(broken), "--output", "json"], capture_output=True, text=True)
    assert result.returncode == 1
    [finding] = json.loads(result.stdout)
    assert finding == {"file": "cron.yaml", "line": 5, "rule": "E302", "severity": "error",
                       "message": "schedule '61 3 * * *': minute value '61' is out of range 0-59",
                       "fix": "use five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *'",
                       "shortdesc": "bad cron schedule",
                       "source_url": f"{GUIDE}using-features-managing-env-tiers.html#worker-periodictasks"}


def test_resources_go_through_cfn_lint(tmp_path):
    bundle = make_bundle(tmp_path)
    add_config(bundle, "03_resources.config",
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
               "      CidrIp: 0.0.0.0/0\n")
    findings = run(bundle)
    assert [(f.line, f.rule.id) for f in findings] == [(9, "E201")], [f.as_text() for f in findings]
    assert "BucketNam" in findings[0].message and "cfn-lint E3002 at Resources/Alarm/Properties" in findings[0].message


def test_overrides_of_eb_resources_are_linted_merged_with_them(tmp_path):
    """A partial AWSEB* resource is merged with EB's (no 'missing property' alarm); what it adds is checked."""
    bundle = make_bundle(tmp_path)
    add_config(bundle, "03_asg.config",
               "Resources:\n"
               "  AWSEBAutoScalingGroup:\n"
               "    Metadata:\n"
               "      AWS::CloudFormation::Authentication:\n"
               "        S3Auth: {type: s3, roleName: {\"Fn::GetOptionSetting\": {Namespace: "
               "\"aws:autoscaling:launchconfiguration\", OptionName: IamInstanceProfile}}}\n"
               "  AWSEBCloudwatchAlarmHigh:\n"
               "    Type: AWS::CloudWatch::Alarm\n"
               "    Properties:\n"
               "      AlarmActions: []\n"
               "  AWSEBLoadBalancer:\n"
               "    Properties:\n"
               "      CrossZone: maybe\n")
    findings = run(bundle)
    assert [(f.line, f.rule.id) for f in findings] == [(12, "E201")], [f.as_text() for f in findings]
    assert "CrossZone: 'maybe' is not of type 'boolean'" in findings[0].message


def test_the_template_is_every_file_merged(tmp_path):
    """EB builds one template from all the files: a resource one file defines is there for the others, in
    Resources and in the functions of option_settings and files; a name no file defines is an error."""
    bundle = make_bundle(tmp_path)
    add_config(bundle, "03_queue.config", "Resources:\n  JobsQueue:\n    Type: AWS::SQS::Queue\n")
    add_config(bundle, "04_use.config",
               "option_settings:\n"
               "  aws:elasticbeanstalk:application:environment:\n"
               "    JOBS_QUEUE: '`{\"Ref\": \"JobsQueue\"}`'\n"
               "    MAIL_QUEUE: '`{\"Ref\": \"MailQueue\"}`'\n"
               "files:\n"
               "  /etc/app/queue.json:\n"
               "    content: {\"Fn::GetAtt\": [JobsQueue, Arn]}\n"
               "Outputs:\n"
               "  Queue:\n"
               "    Value: {\"Fn::GetAtt\": [JobsQueue, QueueName]}\n")
    findings = run(bundle)
    assert [(f.file, f.line, f.rule.id) for f in findings] == [(".ebextensions/04_use.config", 4, "E201")]
    assert "MailQueue" in findings[0].message


def test_references_to_one_tiers_eb_resources_fail_with_a_stage_file(tmp_path):
    bundle = make_bundle(tmp_path, "tier_specific")
    (bundle / ".ebextensions" / "02_alb.config").unlink()
    add_config(bundle, "03_depth.config",
               "Resources:\n"
               "  QueueDepth:\n"
               "    Type: AWS::CloudWatch::Alarm\n"
               "    Properties:\n"
               "      Namespace: AWS/SQS\n"
               "      MetricName: ApproximateNumberOfMessagesVisible\n"
               "      Dimensions: [{Name: QueueName, Value: {\"Fn::GetAtt\": [AWSEBWorkerQueue, QueueName]}}]\n"
               "      Statistic: Sum\n"
               "      Period: 300\n"
               "      EvaluationPeriods: 1\n"
               "      Threshold: 20\n"
               "      ComparisonOperator: GreaterThanThreshold\n")
    [finding] = run(bundle)
    assert (finding.line, finding.rule.id) == (2, "E202")
    assert "refers to AWSEBWorkerQueue, which only worker environments have" in finding.message


def test_ignored_paths_are_not_checked(tmp_path):
    bundle = make_bundle(tmp_path)
    (bundle / "tests").mkdir()
    (bundle / "tests" / "requirements.txt").write_text("pytest\n")
    assert run(bundle) == []
    (bundle / "requirements.txt").unlink()
    assert [f.rule.id for f in run(bundle)] == ["E701"]


def test_bundle_over_the_size_limit(tmp_path):
    bundle = make_bundle(tmp_path)
    with open(bundle / "dataset.bin", "wb") as sparse:  # sparse: no disk space used, nothing read
        sparse.truncate(501 * 1024 * 1024)
    findings = run(bundle)
    assert [f.rule.id for f in findings] == ["E801"] and "dataset.bin" in findings[0].fix


def test_migrations_are_judged_by_what_the_running_code_survives(tmp_path):
    """Only upgrade() counts (a downgrade drops what its upgrade made); a rename, a drop inside a batch, a
    narrowing to Integer are refused; a NOT NULL column with a server default, a nullable one, and a drop in a
    migration marked as the contract of an earlier one pass."""
    bundle = make_bundle(tmp_path)
    versions = bundle / "db" / "versions"
    versions.mkdir(parents=True)
    head = ('import sqlalchemy as sa\nfrom alembic import op\n\n'
            'revision = "{rev}"\ndown_revision = "{down}"\n{extra}\n\n')
    files = {
        "0001_expand.py": ("0001", None, "", 'def upgrade():\n    op.add_column("t", sa.Column("new", sa.Integer))\n'
                           '    op.add_column("t", sa.Column("n", sa.Integer, nullable=False, server_default="0"))\n'
                           '\n\ndef downgrade():\n    op.drop_column("t", "new")\n'),
        "0002_contract.py": ("0002", "0001", 'contract_of = "0001"',
                             'def upgrade():\n    op.drop_column("t", "old")\n'),
        "0003_rename.py": ("0003", "0002", "", 'def upgrade():\n    op.alter_column("t", "a", new_column_name="b")\n'
                           '    with op.batch_alter_table("t") as batch:\n        batch.drop_column("c")\n'
                           '    op.alter_column("t", "d", type_=sa.Integer(), existing_type=sa.BigInteger())\n'),
    }
    for name, (rev, down, extra, body) in files.items():
        (versions / name).write_text(head.format(rev=rev, down=down, extra=extra) + body)
    assert [(f.file, f.line, f.rule.id) for f in run(bundle)] == [
        ("db/versions/0003_rename.py", 9, "E951"), ("db/versions/0003_rename.py", 11, "E951"),
        ("db/versions/0003_rename.py", 12, "E953")]
