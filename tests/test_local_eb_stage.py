"""The local stage's EB side: a refused bundle is named by the cause of this run's failure."""
from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest

from eb_tools.local.cloud import LocalCloud
from eb_tools.local.eb_stage import deploy
from eb_tools.local.resources import provision

ROOT = Path(__file__).resolve().parent.parent


def _bundle_with(root: Path, option: str, value: str) -> None:
    """The repository with one .ebextensions file setting aws:autoscaling:asg `option`."""
    (root / ".ebextensions" / "99_bad.config").write_text(
        f"option_settings:\n  aws:autoscaling:asg:\n    {option}: {value}\n")


def test_a_refused_version_names_this_runs_cause_not_an_older_one(tmp_path):
    root = tmp_path / "app"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv*", ".local", ".git", "tests", "__pycache__"))
    cloud = LocalCloud(eb_transition_seconds=0.05).start()
    try:
        stage = provision(cloud.url, "http://127.0.0.1:1")
        _bundle_with(root, "MinSize", "zero")
        with pytest.raises(click.ClickException, match="MinSize") as first:
            deploy(cloud.url, root, tmp_path / "data", stage, timeout=20)
        _bundle_with(root, "MaxSize", "lots")
        with pytest.raises(click.ClickException) as second:
            deploy(cloud.url, root, tmp_path / "data", stage, timeout=20)
        assert "MaxSize" in second.value.message and "MinSize" not in second.value.message, second.value.message
        assert "MinSize" in first.value.message
    finally:
        cloud.stop()
