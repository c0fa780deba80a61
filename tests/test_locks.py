"""The locks: what instances install (requirements.txt) and what tests run beside it (constraints-dev.txt) are
each generated from their source by `make lock`, pin every package, and are what this venv runs. Offline."""
from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from eb_tools.formats import requirements

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("lock_script", ROOT / "scripts" / "lock.py")
assert _spec and _spec.loader
lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock)


def _read(name: str) -> requirements.RequirementsFile:
    return requirements.parse((ROOT / name).read_text())


@pytest.mark.parametrize(("name", "digest"), [(lock.RUNTIME_LOCK, lock.runtime_digest),
                                              (lock.DEV_LOCK, lock.dev_digest)])
def test_each_lock_was_made_from_its_source_as_it_is(name, digest):
    """Editing requirements.in, pyproject.toml's dependencies or the runtime lock without `make lock` fails here."""
    assert _read(name).source_digest == digest(), f"{name} is out of date with its source: run make lock"


def test_the_runtime_lock_pins_every_package_with_hashes_within_the_source_ranges():
    locked = _read(lock.RUNTIME_LOCK)
    assert locked.requirements and not locked.problems
    assert [r.name for r in locked.requirements if r.exact is None or not r.hashes] == []
    pins = locked.by_name()
    for line in (ROOT / lock.RUNTIME_SOURCE).read_text().splitlines():
        if line.split("#", 1)[0].strip():
            wanted = Requirement(line.split("#", 1)[0])
            pin = pins[requirements.normalise(wanted.name)]
            assert wanted.specifier.contains(pin.exact or ""), f"{pin.name}=={pin.exact} is outside {wanted}"


@pytest.mark.parametrize("name", [lock.RUNTIME_LOCK, lock.DEV_LOCK])
def test_this_venv_runs_the_locked_versions(name):
    """make test installs from the locks: the tests run what ships."""
    differ = []
    for pin in _read(name).requirements:
        if pin.marker and not Marker(pin.marker).evaluate():
            continue
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pin.exact:
            differ.append(f"{pin.name}: locked {pin.exact}, installed {installed}")
    assert differ == [], differ


def test_a_lock_is_read_as_pip_reads_it():
    text = ("# source sha256: " + "ab" * 32 + " (make lock writes it)\n"
            "# a comment\n"
            "alembic==1.20.1 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via -r requirements.in\n"
            "async-timeout==5.0.1 ; python_full_version < '3.11.3' \\\n    --hash=sha256:cc\n"
            "-r other.txt\n"
            "Flask_WTF>=1.2,<2  # ranges\n"
            "not a requirement!\n")
    parsed = requirements.parse(text)
    assert parsed.source_digest == "ab" * 32
    assert [(r.name, r.exact, r.hashes, r.line) for r in parsed.requirements] == [
        ("alembic", "1.20.1", ("sha256:aa", "sha256:bb"), 3),
        ("async-timeout", "5.0.1", ("sha256:cc",), 7),
        ("flask-wtf", None, (), 10)]
    assert parsed.requirements[1].marker == 'python_full_version < "3.11.3"'
    assert [(p.line, p.kind) for p in parsed.problems] == [(11, "requirement")]
    assert requirements.source_digest(["b>=1", "# c", "A >= 2  # why"]) == requirements.source_digest(["a>=2", "b>=1"])
