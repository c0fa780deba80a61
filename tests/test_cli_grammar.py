"""The command line's one grammar, checked on click's own description of it: every verb is listed with one
line of help, the label option has one name, exit statuses are 0, 1 and 2, and tables fit their content."""
from __future__ import annotations

from typing import Any

import click
from click.testing import CliRunner

from eb_tools import cli
from eb_tools.release.status import render


def _groups() -> list[tuple[list[str], click.Group]]:
    return [([], cli.main), *(([name], command) for name, command in cli.main.commands.items()
                              if isinstance(command, click.Group))]


def test_the_help_lists_every_command_with_one_whole_line():
    for args, group in _groups():
        result = CliRunner().invoke(cli.main, [*args, "--help"], terminal_width=80)
        assert result.exit_code == 0, result.output
        listed = result.output.split("Commands:\n")[1].splitlines()
        assert sorted(line.split()[0] for line in listed) == sorted(group.commands), result.output
        for line in listed:
            assert not line.endswith("..."), f"{' '.join(args)} --help cuts a command's line: {line}"
            assert line.endswith("."), f"{' '.join(args)} --help: not one sentence: {line}"


def _commands() -> list[tuple[str, click.Command]]:
    return [(" ".join([*args, name]), command) for args, group in _groups()
            for name, command in group.commands.items() if not isinstance(command, click.Group)]


def test_the_label_option_is_label_everywhere_and_its_former_names_still_work():
    labelled = {name: command for name, command in _commands() if any(p.name == "label" for p in command.params)}
    assert {"provision", "deploy", "rollback"} <= set(labelled)
    for name, command in labelled.items():
        [option] = [p for p in command.params if p.name == "label"]
        assert option.opts[0] == "--label", name
        shown = CliRunner().invoke(cli.main, [*name.split(), "--help"]).output
        assert "--label TEXT" in shown and "--to" not in shown and "--version-label" not in shown, name
    for name, former in (("provision", "--version-label"), ("rollback", "--to")):
        context = labelled[name].make_context(name, ["staging", former, "v7"])
        assert context.params["label"] == "v7"


def test_status_fits_its_columns_to_forty_character_environment_names():
    web, worker = "a" * 36 + "-web", "a" * 33 + "-worker"  # EB's longest names (names.py cuts to 40)
    assert len(web) == len(worker) == 40

    def tier(name: str, environment: str) -> dict[str, Any]:
        return {"tier": name, "environment": environment, "exists": True, "label": "v-" + "9" * 30,
                "status": "Ready", "health": "Green", "health_status": "Ok", "instances": {"v1": 2}, "url": "",
                "schema": {"code": None, "database": None}, "causes": [], "events": []}

    lines: list[str] = []
    render({"stage": "s", "application": "a", "region": "r", "provisioned": True, "consistent": False,
            "label": None, "tiers": {"web": tier("web", web), "worker": tier("worker", worker)}}, lines.append)
    header, *rows = lines[1:]
    for column, cell in (("label", "v-9"), ("status", "Ready"), ("health", "Green"), ("instances", "2 on v1")):
        assert {row.index(cell) for row in rows} == {header.index(column)}, lines
    assert header.index("label") > 40


def test_exit_status_is_1_for_a_failure_and_2_for_a_usage_error(tmp_path):
    missing = CliRunner().invoke(cli.main, ["status", "staging", "--file", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 1 and missing.output.startswith("Error: ") and "not found" in missing.output
    assert CliRunner().invoke(cli.main, ["status", "--no-such-option"]).exit_code == 2
    assert CliRunner().invoke(cli.main, ["diff", "a", "b", "c"]).exit_code == 2
    assert CliRunner().invoke(cli.main, ["no-such-command"]).exit_code == 2
