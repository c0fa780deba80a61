"""Putting a version on a stage's environments: both move, and a refusal names this deployment's cause."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eb_tools.aws import Target, local_session
from eb_tools.bundle import build
from eb_tools.local.cloud import LocalCloud
from eb_tools.names import environment_names
from eb_tools.provision import command
from eb_tools.release.deploy import ReleaseError, deploy, register_version

ROOT = Path(__file__).resolve().parent.parent


def _bundle_with(root: Path, option: str, value: str) -> None:
    """The repository with one .ebextensions file setting aws:autoscaling:asg `option`."""
    (root / ".ebextensions" / "99_bad.config").write_text(
        f"option_settings:\n  aws:autoscaling:asg:\n    {option}: {value}\n")


def test_a_version_reaches_both_environments_and_a_refusal_names_its_own_cause(tmp_path):
    root = tmp_path / "app"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv*", ".local", ".git", "tests", "__pycache__"))
    cloud = LocalCloud(eb_transition_seconds=0.05).start()
    try:
        target = Target(local_session("us-east-1"), cloud.url)
        command.provision(root / "eb_tools.yaml", "local", yes=True, echo=lambda _: None, session=target.session,
                          endpoint_url=cloud.url, web_origin="http://127.0.0.1:8000")
        names = list(environment_names("oppima", "local").values())

        def release() -> str:
            label = register_version(target, "oppima", build(root, tmp_path / "bundles", working_tree=True), "t")
            deploy(target, "oppima", names, label, lambda _: None, timeout=30, interval=0.05)
            return label

        good = release()
        envs = target.client("elasticbeanstalk").describe_environments(EnvironmentNames=names)["Environments"]
        assert [e["VersionLabel"] for e in envs] == [good, good]

        _bundle_with(root, "MinSize", "zero")
        with pytest.raises(ReleaseError, match="MinSize") as first:
            release()
        _bundle_with(root, "MaxSize", "lots")
        with pytest.raises(ReleaseError) as second:
            release()
        assert "MaxSize" in str(second.value) and "MinSize" not in str(second.value), second.value
        assert "refused version" in str(first.value)
    finally:
        cloud.stop()
