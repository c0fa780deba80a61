"""The emulated cloud's instances and a bundle that brings its wheels (eb_tools/cloud/instances/venvs.py): pip
runs as EB's platform runs it, `pip install -r requirements.txt` and nothing more, with the index pointed at a
port that refuses, and installs the bundle's wheels into a virtualenv that holds nothing else; a wheel for
another platform fails the install as it fails on EB, in EB's words."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from eb_tools import bundle as source_bundle
from eb_tools.cloud.instances import InstanceRuntime
from eb_tools.cloud.instances.jobs import DEPENDENCIES_FAILED, DEPLOYMENT_FAILED
from tests.test_instances import ROOT, SMALL_APP, finished
from tests.wheels import make_wheel

# The standard library serves the app: the virtualenv holds only what the wheelhouse brings (no gunicorn).
SERVE = """\
import os
from wsgiref.simple_server import make_server

from app import application

make_server("127.0.0.1", int(os.environ["PORT"]), application).serve_forever()
"""
APP = "from tinypkg import VALUE\n" + SMALL_APP.replace('"version": "%s"}\' % LABEL',
                                                        '"version": "%s", "from": "%s"}\' % (LABEL, VALUE)')
X86_TAG, ARM_TAG = "cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_17_aarch64"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstanceRuntime]:
    instances = InstanceRuntime(tmp_path_factory.mktemp("instances"), health_timeout=30, command_timeout=120)
    yield instances
    instances.stop_all()


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tinypkg 1.0 for x86_64 and for aarch64 (one lock line lists both hashes, as a universal lock does), and
    for another Python."""
    folder = tmp_path_factory.mktemp("wheels")
    return {tag: make_wheel(folder / tag, "tinypkg", tag=tag) for tag in (X86_TAG, ARM_TAG, "cp312-cp312-linux_x86_64")}


@pytest.fixture
def environment() -> dict[str, str]:
    return {name: os.environ[name] for name in ("HOME", "LANG", "PATH") if name in os.environ}


def lock_of(*wheels: Path) -> str:
    """One line for tinypkg==1.0 with the hash of each wheel."""
    return "tinypkg==1.0 " + " ".join(f"--hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}"
                                      for w in wheels) + "\n"


def bundle(lock: str, wheel: Path) -> bytes:
    files = {"Procfile": b"web: python serve.py\n", "app.py": APP.encode(), "serve.py": SERVE.encode(),
             "core_version.py": (ROOT / "core" / "version.py").read_bytes(),
             "requirements.txt": f"{lock}--no-index\n--find-links wheelhouse\n".encode(),
             f"wheelhouse/{wheel.name}": wheel.read_bytes()}
    return source_bundle.write_zip([source_bundle.Entry(path, 0o644, data) for path, data in sorted(files.items())])


def test_a_bundle_with_a_wheelhouse_installs_its_wheels_with_no_index(runtime, wheels, environment):
    job = finished(runtime.deploy("i-wh1", "Worker", "v-wheels", bundle(lock_of(wheels[X86_TAG]), wheels[X86_TAG]),
                                  environment))
    assert job.healthy, job.failure
    host, port = runtime.address("i-wh1")
    assert requests.get(f"http://{host}:{port}/healthz", timeout=5).json() == {
        "status": "ok", "version": "v-wheels", "from": "from the wheel"}
    log = (runtime.log_folder("i-wh1") / "eb-engine.log").read_text()
    assert "Looking in links: /var/app/staging/wheelhouse" in log and "Successfully installed tinypkg-1.0" in log
    assert "Looking in indexes" not in log  # the file's --no-index: the refusing index was never asked
    [venv] = [f for f in (runtime.folder / "venvs").iterdir() if f.is_dir()]
    site = next((venv / "staging-LQM1lest" / "lib").glob("python3.*/site-packages"))
    assert sorted(p.name for p in site.iterdir()) == ["pip", "tinypkg", "tinypkg-1.0.dist-info"]  # nothing else
    print(f"\ninstalling a wheelhouse of one wheel into a new virtualenv: {job.seconds['InstallDependency']:.2f} s")


@pytest.mark.parametrize(("tag", "instance"), [(ARM_TAG, "i-wh2"), ("cp312-cp312-linux_x86_64", "i-wh3")])
def test_a_wheel_for_another_platform_fails_the_install_in_one_line(runtime, wheels, environment, tag, instance):
    """The same requirements.txt as a healthy deployment's (its line lists every wheel's hash), another wheel:
    the virtualenv of the first is not reused, since the wheels are part of what pip reads."""
    lock = lock_of(*wheels.values())
    good = finished(runtime.deploy(instance, "Worker", "v-good", bundle(lock, wheels[X86_TAG]), environment))
    assert good.healthy, good.failure
    job = finished(runtime.deploy(instance, "Worker", "v-other", bundle(lock, wheels[tag]), environment))
    assert job.failure is not None and job.failure.instruction == "InstallDependency"
    assert job.failure.reason == (
        "An error occurred during execution of command [app-deploy] - [InstallDependency]. Stop running the command. "
        "Error: fail to install dependencies with requirements.txt file with error Command "
        "/var/app/venv/staging-LQM1lest/bin/pip install -r requirements.txt failed with error exit status 1. "
        "Stderr:ERROR: Could not find a version that satisfies the requirement tinypkg==1.0 (from versions: none) "
        "ERROR: No matching distribution found for tinypkg==1.0")
    assert job.failure.events[:2] == (("ERROR", DEPENDENCIES_FAILED), ("ERROR", DEPLOYMENT_FAILED))
    assert runtime.health(instance).label == "v-good"  # the install failed before the flip
