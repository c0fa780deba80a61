"""`eb_tools bundle`: the zip eb deploy would upload, with modes kept and the same bytes every time."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from eb_tools import cli
from eb_tools.bundle import BundleError, build

BUNDLES = Path(__file__).resolve().parent / "bundles"
EB_TOOLS = str(Path(sys.executable).parent / "eb_tools")
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "app"
    shutil.copytree(BUNDLES / "clean", repo)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_x.py").write_text("def test(): pass\n")
    (repo / "notes.txt~").write_text("editor backup\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "app")
    return repo


def listing(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in archive.infolist()}


def test_bundle_from_head_keeps_modes_and_honours_ebignore(repo, tmp_path):
    result = subprocess.run([EB_TOOLS, "bundle", str(repo), "--output-dir", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    label = git(repo, "rev-parse", "--short=10", "HEAD")
    zip_path = tmp_path / "out" / f"{label}.zip"
    assert result.stdout.splitlines()[0] == f"bundle:  {zip_path}"
    assert f"version: {label}" in result.stdout
    assert listing(zip_path) == {
        ".ebextensions/01_options.config": 0o644,
        ".platform/hooks/predeploy/01_migrate.sh": 0o755,
        ".platform/nginx/conf.d/10_app.conf": 0o644,
        "Procfile": 0o644,
        "cron.yaml": 0o644,
        "requirements.txt": 0o644,
    }
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.read("Procfile") == (repo / "Procfile").read_bytes()
        assert archive.testzip() is None


def test_same_tree_same_bytes(repo, tmp_path):
    first = build(repo, tmp_path / "a")
    (repo / "Procfile").touch()  # a new mtime changes nothing
    os.utime(repo / "cron.yaml", (0, 0))
    second = build(repo, tmp_path / "b")
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(first.path) == digest(second.path)
    worktree = build(repo, tmp_path / "c", working_tree=True)
    assert worktree.label == first.label and digest(worktree.path) == digest(first.path)


def test_bundle_output_json_is_one_document_naming_the_zip(repo, tmp_path):
    result = CliRunner().invoke(cli.main, ["bundle", str(repo), "--output-dir", str(tmp_path / "j"), "--output",
                                           "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"bundle", "size", "files", "label"}
    assert Path(document["bundle"]).stat().st_size == document["size"] and isinstance(document["files"], int)
    assert document["label"] == build(repo, tmp_path / "again").label


def test_uncommitted_changes_go_only_into_a_dirty_working_tree_bundle(repo, tmp_path):
    committed = build(repo, tmp_path / "head")
    (repo / "requirements.txt").write_text("flask>=3\ngunicorn>=22\nredis>=5\n")
    assert build(repo, tmp_path / "head2").label == committed.label  # HEAD is what it was
    dirty = build(repo, tmp_path / "dirty", working_tree=True)
    assert dirty.label.startswith(f"{committed.label}-dirty-")
    with zipfile.ZipFile(dirty.path) as archive:
        assert b"redis" in archive.read("requirements.txt")
    (repo / ".platform/hooks/predeploy/01_migrate.sh").chmod(0o644)
    assert build(repo, tmp_path / "mode", working_tree=True).label != dirty.label


def test_not_a_repository_needs_the_working_tree_flag(tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(BUNDLES / "clean", plain)
    with pytest.raises(BundleError, match="not a git repository"):
        build(plain, tmp_path / "out")
    assert build(plain, tmp_path / "out", working_tree=True).label.startswith("nogit-")
    result = subprocess.run([EB_TOOLS, "bundle", str(plain), "--output-dir", str(tmp_path / "o")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {plain} is not a git repository; commit it, or use --working-tree"]
