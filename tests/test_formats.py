"""eb_tools.formats.option_settings: every form of `option_settings` EB reads, with lines; problems, never a crash."""
from __future__ import annotations

import io
import zipfile

import pytest
import yaml

from eb_tools.formats import option_settings, yamlines
from eb_tools.formats.option_settings import DEFAULT_NAMESPACE, OptionSettings

ASG = "aws:autoscaling:asg"
SCHEDULED = "aws:autoscaling:scheduledaction"


def parsed(text: str) -> OptionSettings:
    return option_settings.read(yamlines.load(text))


def rows(result: OptionSettings) -> list[tuple[object, ...]]:
    return [(s.namespace, s.option, s.value, s.line, s.namespace_line, s.value_line, s.resource)
            for s in result.settings]


def problems(result: OptionSettings) -> list[tuple[int | None, str]]:
    return [(p.line, p.kind) for p in result.problems]


def test_the_mapping_form_with_lines_and_resource_names() -> None:
    result = parsed("option_settings:\n"
                    f"  {ASG}:\n    MinSize: 2\n    MaxSize: 4\n"
                    f"  Nightly.{SCHEDULED}:\n    MinSize: 1\n")
    assert rows(result) == [(ASG, "MinSize", 2, 3, 2, 3, None), (ASG, "MaxSize", 4, 4, 2, 4, None),
                            (SCHEDULED, "MinSize", 1, 6, 5, 6, "Nightly")]
    assert result.problems == []


def test_the_list_form_a_property_without_namespace_and_resource_names() -> None:
    result = parsed("option_settings:\n"
                    f"  - namespace: {ASG}\n    option_name: MinSize\n    value: 2\n"
                    "  - option_name: GREETING\n    value: hello\n"
                    f"  - namespace: {SCHEDULED}\n    resource_name: Nightly\n    option_name: MinSize\n    value: 1\n"
                    f"  - namespace: Morning.{SCHEDULED}\n    option_name: MinSize\n    value: 3\n")
    assert rows(result) == [(ASG, "MinSize", 2, 3, 2, 4, None),
                            (DEFAULT_NAMESPACE, "GREETING", "hello", 5, 5, 6, None),
                            (SCHEDULED, "MinSize", 1, 9, 7, 10, "Nightly"),
                            (SCHEDULED, "MinSize", 3, 12, 11, 13, "Morning")]
    assert result.problems == []


def test_the_last_setting_of_an_option_wins() -> None:
    result = parsed(f"option_settings:\n  - namespace: {ASG}\n    option_name: MinSize\n    value: 2\n"
                    f"  - namespace: {ASG}\n    option_name: MinSize\n    value: 5\n")
    assert result.values() == {(ASG, "MinSize"): 5}


@pytest.mark.parametrize(("text", "expected"), [
    (f"option_settings:\n  {DEFAULT_NAMESPACE}: oops\n", [(2, "setting")]),
    (f"option_settings:\n  {ASG}:\n", [(2, "setting")]),
    (f"option_settings:\n  {ASG}:\n    - MinSize: 1\n", [(2, "setting")]),
    ("option_settings: oops\n", [(1, "section")]),
    ("option_settings:\n", [(1, "section")]),
    ("option_settings:\n  - oops\n  - [1, 2]\n", [(2, "setting"), (3, "setting")]),
    (f"option_settings:\n  - namespace: {ASG}\n    value: 1\n", [(2, "setting")]),
    (f"option_settings:\n  - namespace: {ASG}\n    option_name: [MinSize]\n    value: 1\n", [(2, "setting")]),
    (f"option_settings:\n  - namespace: {ASG}\n    option_name: MinSize\n    valeu: 1\n", [(4, "key")]),
    ("option_settings:\n  Nightly.aws:elasticbeanstalk:command:\n    Timeout: 600\n", [(2, "resource")]),
])
def test_malformed_settings_are_problems_at_their_line(text: str, expected: list[tuple[int, str]]) -> None:
    result = parsed(text)
    assert problems(result) == expected
    assert all(p.message and p.fix for p in result.problems)


def test_the_settings_around_a_problem_are_still_read() -> None:
    result = parsed(f"option_settings:\n  {DEFAULT_NAMESPACE}: oops\n  {ASG}:\n    MinSize: 1\n")
    assert [s.key for s in result.settings] == [(ASG, "MinSize")]
    assert "must be a mapping of name: value, not 'oops'" in result.problems[0].message
    typo = parsed(f"option_settings:\n  - namespace: {ASG}\n    option_name: MinSize\n    valeu: 1\n")
    assert [(s.key, s.value) for s in typo.settings] == [((ASG, "MinSize"), None)]
    assert "did you mean 'value'" in typo.problems[0].message


@pytest.mark.parametrize("body", [
    None, 5, "text", [None], [5, "x"], {None: None}, {5: 5}, {"ns": [1, 2]}, {"ns": {"o": {"deep": [1]}}},
    [{"option_name": None}], [{"option_name": {"a": 1}}], [{"namespace": [1], "option_name": "x"}],
    [{"namespace": None, "option_name": 1, "value": [1]}], [{"option_name": "x", 5: "y"}],
    [{"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "resource_name": ["a"]}],
])
def test_no_shape_makes_it_raise(body: object) -> None:
    """YAML read without lines (yaml.safe_load) and any shape at all: settings and problems, never an exception."""
    result = option_settings.parse(body)
    assert isinstance(result, OptionSettings)
    assert all(p.line is None for p in result.problems) and all(s.line is None for s in result.settings)


def test_a_file_without_option_settings_has_none() -> None:
    assert option_settings.read(yamlines.load("files: {}\n")) == OptionSettings()
    assert option_settings.read(yamlines.load("- a list\n")) == OptionSettings()
    assert option_settings.read(None) == OptionSettings()
    plain = option_settings.read(yaml.safe_load(f"option_settings:\n  {ASG}:\n    MinSize: 1\n"))
    assert rows(plain) == [(ASG, "MinSize", 1, None, None, None, None)]


def zipped(**files: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_the_emulated_eb_reads_bundles_through_the_same_parser() -> None:
    """option_settings.from_bundle: the parser's settings, file after file; EB's words for a setting that is not a map
    (awsdocs/aws-elastic-beanstalk-developer-guide#93) and for YAML it cannot read; unknown keys it ignores."""
    data = zipped(**{".ebextensions/01_a.config": f"option_settings:\n  {ASG}:\n    MinSize: 2\n",
                     ".ebextensions/02_b.config": "option_settings:\n  - option_name: GREETING\n    value: hi\n"
                                                  "    note: ignored\n",
                     ".ebextensions/03_oops.config": f"option_settings:\n  {DEFAULT_NAMESPACE}: oops\n",
                     ".ebextensions/04_bad.config": "option_settings: [\n",
                     ".ebextensions/nested/05_skipped.config": "option_settings: oops\n"})
    settings, errors = option_settings.from_bundle(data, "v7")
    assert settings == [(ASG, "MinSize", 2), (DEFAULT_NAMESPACE, "GREETING", "hi")]
    assert errors[0] == ("Each option setting in configuration file .ebextensions/03_oops.config in application "
                         "version v7 must be a map. Update each option setting in the configuration file.")
    assert errors[1].startswith("The configuration file .ebextensions/04_bad.config in application version v7 "
                                "contains invalid YAML or JSON. YAML exception: ")
    assert len(errors) == 2
    assert option_settings.from_bundle(data)[1][0].startswith("Each option setting in configuration file "
                                                      ".ebextensions/03_oops.config must be a map.")
