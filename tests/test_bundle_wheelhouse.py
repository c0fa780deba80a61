"""`eb_tools bundle` with a wheelhouse: the lock's wheels for the stage's platform, fetched by real pip into a
cache and reused, and a requirements.txt that installs from them alone; a bad lock or a missing wheel is one
line before anything is written.

No test reaches a package index: pip download reads a folder of wheels made here (PIP_NO_INDEX and
PIP_FIND_LINKS, the pip configuration a user's mirror would come through too).
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from eb_tools.bundle import BundleError, build
from eb_tools.release.deploy import prepare
from eb_tools.wheelhouse import MARKER, Target, target_for
from tests.wheels import make_wheel, pinned

EB_TOOLS = str(Path(sys.executable).parent / "eb_tools")
X86 = Target((3, 11), "x86_64", 34)
ARM = Target((3, 11), "aarch64", 34)
STAGES = """\
application: app
region: eu-west-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  staging:
    isolation: nonprod
    web: {instance_type: t3.small}
    worker: {instance_type: t3.small, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@example.com}
    alarm_email: ops@example.com
    bundle: {wheelhouse: true}
"""


@pytest.mark.parametrize(("types", "arch"), [
    (("t3.micro", "m5.large"), "x86_64"), (("g4dn.xlarge", "m7i-flex.large"), "x86_64"),
    (("t4g.small", "m6g.large"), "aarch64"), (("c7gn.xlarge", "a1.medium"), "aarch64"), (("im4gn.large",), "aarch64"),
])
def test_the_architecture_comes_from_the_instance_types(types, arch):
    assert target_for("Python 3.11 running on 64bit Amazon Linux 2023", types).arch == arch


def test_the_python_and_glibc_come_from_the_platform():
    assert target_for("Python 3.11 running on 64bit Amazon Linux 2023", ["t3.small"]).name == \
        "cp311-manylinux_2_34_x86_64"
    assert target_for("Python 3.9 running on 64bit Amazon Linux 2/3.5.0", ["t4g.small"]).name == \
        "cp39-manylinux_2_26_aarch64"
    assert X86.fits("pillow-13.0.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
    assert X86.fits("six-1.17.0-py2.py3-none-any.whl") and X86.fits("x-1-cp38-abi3-manylinux2014_x86_64.whl")
    for other in ("x-1-cp311-cp311-manylinux_2_17_aarch64.whl", "x-1-cp312-cp312-manylinux_2_17_x86_64.whl",
                  "x-1-cp311-cp311-manylinux_2_35_x86_64.whl", "x-1-cp311-cp311-musllinux_1_2_x86_64.whl"):
        assert not X86.fits(other), other


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder pip download reads instead of an index: a pure wheel, and a compiled one for both architectures."""
    folder = tmp_path / "index"
    make_wheel(folder, "purepkg")
    make_wheel(folder, "fastpkg", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(folder, "fastpkg", tag="cp311-cp311-manylinux_2_17_aarch64")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def project(tmp_path: Path, index: Path, lock: str | None = None) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "Procfile").write_text("web: python serve.py\n")
    (root / ".ebignore").write_text(".cache/\n")
    wheels = sorted(index.glob("*.whl"))
    fast = pinned(*[w for w in wheels if w.name.startswith("fastpkg")]).replace("\nfastpkg==1.0 \\\n", " \\\n")
    (root / "requirements.txt").write_text(lock if lock is not None else
                                           pinned(*[w for w in wheels if w.name.startswith("purepkg")]) + fast)
    return root


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_bundle_carries_the_wheels_of_its_platform_and_installs_from_them_alone(tmp_path, index, monkeypatch):
    root = project(tmp_path, index)
    lock = (root / "requirements.txt").read_text()
    built = build(root, tmp_path / "out", working_tree=True, target=X86)
    assert built.label.endswith("-cp311-manylinux_2_34_x86_64")
    files = members(built.path)
    assert sorted(files) == ["Procfile", "requirements.txt",
                             "wheelhouse/fastpkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                             "wheelhouse/purepkg-1.0-py3-none-any.whl"]
    assert files["wheelhouse/purepkg-1.0-py3-none-any.whl"] == (index / "purepkg-1.0-py3-none-any.whl").read_bytes()
    assert files["requirements.txt"].decode() == (f"{lock}{MARKER}cp311-manylinux_2_34_x86_64 (eb_tools bundle: pip "
                                                  "installs from the bundle's wheelhouse/ only)\n--no-index\n"
                                                  "--find-links wheelhouse\n")
    arm = members(build(root, tmp_path / "arm", working_tree=True, target=ARM).path)
    assert "wheelhouse/fastpkg-1.0-cp311-cp311-manylinux_2_17_aarch64.whl" in arm
    assert sorted(p.name for p in (root / ".cache" / "wheelhouse").iterdir()) == [ARM.name, X86.name]
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))  # nothing to download from now: the cache
    again = build(root, tmp_path / "again", working_tree=True, target=X86)
    assert again.path.read_bytes() == built.path.read_bytes()


def test_the_command_line_bundles_for_a_stage(tmp_path, index):
    root = project(tmp_path, index)
    (tmp_path / "eb_tools.yaml").write_text(STAGES)
    result = subprocess.run([EB_TOOLS, "bundle", str(root), "--working-tree", "--stage", "staging", "--file",
                             str(tmp_path / "eb_tools.yaml"), "--output-dir", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "version: nogit-" in result.stdout and result.stdout.rstrip().endswith("-cp311-manylinux_2_34_x86_64")
    assert "4 files" in result.stdout


@pytest.mark.parametrize(("lock", "expected"), [
    ("purepkg>=1.0 --hash=sha256:" + "0" * 64 + "\n", "requirements.txt:1: purepkg>=1.0 is not pinned to one "
     "version (==): a wheelhouse holds one checked wheel per package; run make lock, which pins every package with its "
     "hashes"),
    ("# lock\npurepkg==1.0\n", "requirements.txt:2: purepkg==1.0 has no --hash"),
    ("purepkg==1.0 --hash=sha256:00\nthis is not ( a requirement\n", "requirements.txt:2: not a requirement pip "
     "reads"),
    ("--index-url https://example.com/simple\npurepkg==1.0 --hash=sha256:00\n", "requirements.txt:1: option "
     "--index-url in the lock"),
])
def test_a_hand_edited_lock_is_one_line_and_nothing_is_written(tmp_path, index, lock, expected):
    root = project(tmp_path, index, lock)
    with pytest.raises(BundleError) as caught:
        build(root, tmp_path / "out", working_tree=True, target=X86)
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_package_without_a_wheel_for_the_platform_is_one_line(tmp_path, index):
    only_arm = make_wheel(tmp_path / "arm-only", "armpkg", tag="cp311-cp311-manylinux_2_17_aarch64")
    (index / only_arm.name).write_bytes(only_arm.read_bytes())
    root = project(tmp_path, index, pinned(only_arm))
    with pytest.raises(BundleError) as caught:
        build(root, tmp_path / "out", working_tree=True, target=X86)
    message = str(caught.value)
    assert message.startswith("pip download of the wheelhouse for cp311-manylinux_2_34_x86_64 failed: ERROR: ")
    assert "armpkg==1.0" in message and "set bundle: {wheelhouse: false}" in message and "\n" not in message
    assert not (tmp_path / "out").exists()


def test_a_lock_whose_hash_was_edited_fetches_nothing_unchecked(tmp_path, index):
    wheel = index / "purepkg-1.0-py3-none-any.whl"
    edited = pinned(wheel).replace(hashlib.sha256(wheel.read_bytes()).hexdigest(), "1" * 64)
    root = project(tmp_path, index, edited)
    with pytest.raises(BundleError) as caught:
        build(root, tmp_path / "out", working_tree=True, target=X86)
    assert "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES" in str(caught.value)
    assert not list((root / ".cache" / "wheelhouse" / X86.name).glob("*.whl"))


def test_the_command_line_says_a_bad_lock_in_one_line(tmp_path, index):
    root = project(tmp_path, index, "purepkg>=1\n")
    (tmp_path / "eb_tools.yaml").write_text(STAGES)
    result = subprocess.run([EB_TOOLS, "bundle", str(root), "--working-tree", "--stage", "staging", "--file",
                             str(tmp_path / "eb_tools.yaml"), "--output-dir", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: requirements.txt:1: purepkg>=1 is not pinned to one version")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_deploy_builds_the_stage_bundle_with_its_wheelhouse(tmp_path, index):
    root = project(tmp_path, index)
    built = prepare(root, tmp_path / "out", working_tree=True, target=X86)
    assert built.label.endswith(f"-{X86.name}")
    assert "wheelhouse/purepkg-1.0-py3-none-any.whl" in members(next((tmp_path / "out").glob("*.zip")))


def test_a_project_folder_named_wheelhouse_is_refused_not_replaced(tmp_path, index):
    root = project(tmp_path, index)
    (root / "wheelhouse").mkdir()
    (root / "wheelhouse" / "mine.txt").write_text("the project's own\n")
    with pytest.raises(BundleError, match=r"^wheelhouse/: the project has a folder of that name, where the bundle's "
                                          r"wheelhouse goes; rename it, or add it to \.ebignore$"):
        build(root, tmp_path / "out", working_tree=True, target=X86)
