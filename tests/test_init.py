"""`eb_tools init`: a stage file of the user's own, from options or answers, that the loader accepts and that
keeps its comments; an existing file and a refused value leave everything as it was."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from eb_tools import cli
from eb_tools import stage_file as stages
from eb_tools.check import run as check

ROOT = Path(__file__).resolve().parent.parent
CLEAN_BUNDLE = Path(__file__).resolve().parent / "bundles" / "clean"
CERT = "arn:aws:acm:{region}:123456789012:certificate/0b0e7a2c-3f1e-4c55-9d4f-1a2b3c4d5e6f"
OPTIONS = ["--application", "shop", "--region", "eu-central-1", "--alarm-email", "alerts@shop.fi",
           "--domain", "shop.fi", "--account", "123456789012"]


@pytest.fixture(autouse=True)
def _no_region_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)


def init(path: Path, *args: str, answers: str | None = None) -> Result:
    return CliRunner().invoke(cli.main, ["init", "--file", str(path), *args], input=answers)


def test_options_and_yes_write_a_file_the_loader_accepts_with_the_users_values(tmp_path: Path) -> None:
    path = tmp_path / "eb_tools.yaml"
    result = init(path, *OPTIONS, "--yes")
    assert result.exit_code == 0, result.output
    written = stages.load(path)
    assert (written.application, written.region, list(written.stages)) == \
        ("shop", "eu-central-1", ["local", "staging", "production"])
    production, staging = written.stage("production"), written.stage("staging")
    assert (production.account, production.isolation, production.nat) == ("123456789012", "production", True)
    assert (production.mail.sender, production.mail.identity) == ("no-reply@shop.fi", "domain")
    assert (staging.mail.sender, staging.mail.identity) == ("no-reply@staging.shop.fi", "domain")
    assert {production.alarm_email, staging.alarm_email} == {"alerts@shop.fi"}
    # No certificate was given: HTTPS waits, commented out with its name, and the stage says plain http.
    assert production.domain is None and production.plain_http and staging.domain is None
    text = path.read_text()
    assert "#   name: shop.fi\n" in text and "#   name: staging.shop.fi\n" in text
    assert "oppima" not in text and "example.com" not in text
    assert result.output.splitlines()[0] == f"wrote {path}: application shop, region eu-central-1, stages local, " \
                                            "staging, production"
    assert result.output.splitlines()[-1] == "next: eb_tools provision staging --dry-run"


def test_stages_of_other_names_are_shaped_like_staging_and_share_its_network(tmp_path: Path) -> None:
    path = tmp_path / "eb_tools.yaml"
    result = init(path, *OPTIONS, "--stages", "qa, staging", "--yes")
    assert result.exit_code == 0, result.output
    written = stages.load(path)
    assert list(written.stages) == ["qa", "staging"]
    assert written.network("nonprod").stages == ("qa", "staging")
    assert written.stage("qa").domain is None and "#   name: qa.shop.fi\n" in path.read_text()
    assert "no local stage: eb_tools local and make up run the stage named local" in result.output


def test_every_key_keeps_its_comment(tmp_path: Path) -> None:
    path = tmp_path / "eb_tools.yaml"
    assert init(path, *OPTIONS, "--yes").exit_code == 0
    text = path.read_text()
    for comment in ("# The EB application, one per repository", "# every stage's region",
                    "# the EB platform branch", "# The stage `eb_tools local` (and `make up`) runs on this machine",
                    "# provision refuses credentials of any other account", "(EB's deployment policies)",
                    "# HTTPS once its certificate exists: request one for shop.fi\n"
                    "    # in ACM (region eu-central-1) and validate it",
                    "# A domain identity: provision prints three DKIM CNAME records",
                    "# where the stage's alarms are mailed", "# instances in private subnets, outbound through NAT"):
        assert comment in text, comment


def test_the_local_stage_is_the_one_eb_tools_local_runs_with_the_users_addresses(tmp_path: Path) -> None:
    """make up runs the local stage of the shipped file: the written one differs only in its addresses."""
    path = tmp_path / "eb_tools.yaml"
    assert init(path, *OPTIONS, "--yes").exit_code == 0
    mine, shipped = stages.load(path).stage("local"), stages.load(ROOT / "eb_tools.yaml").stage("local")
    own = {"mail", "alarm_email", "application", "source"}
    assert mine.model_dump(exclude=own) == shipped.model_dump(exclude=own)
    assert (mine.mail.sender, mine.alarm_email) == ("no-reply@shop.test", "alerts@shop.fi")


def test_answers_are_asked_for_what_no_option_gives_and_checked_as_typed(tmp_path: Path) -> None:
    folder = tmp_path / "My Shop"
    folder.mkdir()
    path = folder / "eb_tools.yaml"
    certificate = CERT.format(region="eu-north-1")
    answers = ["Shop!",                 # refused by the model's rule, asked again
               "",                      # the default: the folder's name, my-shop
               "eu-north-1", "", "",    # region; the default stages; no account check
               "alerts@shop.fi",
               "staging.shop.fi", certificate, "",   # staging: a domain with its certificate; no-reply@ it
               "", "not-an-address", "hello@shop.fi"]  # production: no domain; a sender asked again
    result = init(path, answers="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Application name (names the EB application, stacks and buckets) [my-shop]:" in result.output
    assert "Error: must be 2-30 lowercase letters, digits or hyphens, starting with a letter" in result.output
    assert "Error: must be an e-mail address" in result.output
    written = stages.load(path)
    staging, production = written.stage("staging"), written.stage("production")
    assert (written.application, written.region, staging.account) == ("my-shop", "eu-north-1", None)
    assert staging.domain and (staging.domain.name, staging.domain.certificate_arn) == ("staging.shop.fi",
                                                                                          certificate)
    assert not staging.plain_http and (staging.mail.sender, staging.mail.identity) == \
        ("no-reply@staging.shop.fi", "domain")
    assert production.domain is None and production.plain_http
    # shop.fi is no domain the user named: SES verifies the address itself (a link to follow).
    assert (production.mail.sender, production.mail.identity) == ("hello@shop.fi", "address")


def test_an_existing_file_stays_without_force(tmp_path: Path) -> None:
    path = tmp_path / "eb_tools.yaml"
    path.write_text("application: mine\n")
    refused = init(path, *OPTIONS, "--yes")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == f"Error: {path}: already exists; nothing written (eb_tools init --force replaces it)\n"
    assert path.read_text() == "application: mine\n"
    assert init(path, *OPTIONS, "--yes", "--force").exit_code == 0
    assert stages.load(path).application == "shop"


@pytest.mark.parametrize(("args", "message"), [
    (["--application", "Oppima"], "--application 'Oppima': must be 2-30 lowercase letters, digits or hyphens, "
                                  "starting with a letter; nothing written"),
    (["--stages", "local,staging,local"], "--stages 'local,staging,local': local given twice; nothing written"),
    (["--account", "12345"], "--account '12345': must be a 12-digit AWS account id (quote it if it starts with 0)"
                             "; nothing written"),
    ([], "eb_tools init --yes: give --alarm-email (address the stages' alarms are mailed to: there is no default "
         "to take); nothing written"),
])
def test_a_refused_value_is_one_line_and_nothing_is_written(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "eb_tools.yaml"
    given = args if not args else [*args, "--alarm-email", "alerts@shop.fi", "--mail-from", "hello@shop.fi"]
    result = init(path, "--yes", *given)
    assert result.exit_code == 1 and result.stderr == f"Error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_what_only_the_whole_file_shows_is_the_loaders_line(tmp_path: Path) -> None:
    """A certificate of another region than the stage's passes its own check; the loader refuses the file."""
    path = tmp_path / "eb_tools.yaml"
    answers = ["shop", "eu-west-1", "production", "", "alerts@shop.fi", "shop.fi",
               CERT.format(region="us-east-1"), ""]
    result = init(path, answers="\n".join(answers) + "\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: {path}: stages.production.domain.certificate_arn: '{CERT.format(region='us-east-1')}': must be "
        "a certificate in the stage's region eu-west-1, not us-east-1; nothing written"]
    assert list(tmp_path.iterdir()) == []


def test_a_typed_value_cannot_change_the_files_structure(tmp_path: Path) -> None:
    path = tmp_path / "eb_tools.yaml"
    sender = "ops}#{x@shop.fi"  # the model's address rule allows it; the file must read it back as typed
    assert init(path, *OPTIONS, "--mail-from", sender, "--yes").exit_code == 0
    assert stages.load(path).stage("staging").mail.sender == sender


def test_a_bundle_beside_the_written_file_passes_check_on_both_tiers(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(CLEAN_BUNDLE, bundle)
    assert init(bundle / "eb_tools.yaml", *OPTIONS, "--yes").exit_code == 0
    assert check(bundle) == []
