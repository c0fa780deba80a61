"""The wheelhouse against the lock alone: bundle size, and the instance-side install of requirements.txt.

Both bundles are this repository's working tree as `eb_tools bundle --working-tree` builds it, without and with
the wheelhouse of the local stage's platform (cp311, x86_64: its t3 instances). The install is measured in the
local cloud's real instances (InstanceRuntime, as tests/test_instances.py deploys): each run deploys to an
instance of a new runtime, so its virtualenv is made anew, and reads the InstallDependency step's time. The
deployed bundle is a small app (the standard library serves it) carrying each bundle's requirements.txt and
wheelhouse, so that the deployment needs no database.

Without a wheelhouse the local instance installs no package: its virtualenv is layered on the toolkit's own
packages (the stand-in for an index this machine may not reach; eb_tools/cloud/instances/venvs.py), so that
row says nothing about EB. What an EB instance does without a wheelhouse, download the lock from PyPI and
install it, is measured beside it with the same pip into a new virtualenv on this machine (the baseline of the
install ratios; it needs PyPI, and is left out when PyPI does not answer). The first bundle with a wheelhouse
fetches the wheels into .cache/wheelhouse (PyPI again); later ones read the cache.

    .venv/bin/python benchmarks/wheelhouse.py [--runs 3]
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eb_tools import bundle  # noqa: E402
from eb_tools.cloud.instances import InstanceRuntime  # noqa: E402
from eb_tools.errors import EbToolsError  # noqa: E402
from eb_tools.stage_file import load  # noqa: E402
from eb_tools.wheelhouse import Target, target_for  # noqa: E402
from tests.test_instances import SMALL_APP  # noqa: E402

SERVE = ("import os\nfrom wsgiref.simple_server import make_server\nfrom app import application\n"
         "make_server('127.0.0.1', int(os.environ['PORT']), application).serve_forever()\n")


def small_app(built: bytes) -> bytes:
    """A bundle of SMALL_APP with `built`'s requirements.txt and wheelhouse."""
    with zipfile.ZipFile(io.BytesIO(built)) as archive:
        carried = {name: archive.read(name) for name in archive.namelist()
                   if name == "requirements.txt" or name.startswith("wheelhouse/")}
    files = {"Procfile": b"web: python serve.py\n", "app.py": SMALL_APP.encode(), "serve.py": SERVE.encode(),
             "core_version.py": (ROOT / "core" / "version.py").read_bytes(), **carried}
    return bundle.write_zip([bundle.Entry(path, 0o644, data) for path, data in sorted(files.items())])


def instance_install(data: bytes, runs: int) -> float:
    """Median seconds of the InstallDependency step on a new instance of a new runtime (no virtualenv to reuse)."""
    environment = {name: os.environ[name] for name in ("HOME", "LANG", "PATH") if name in os.environ}
    samples = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            runtime = InstanceRuntime(Path(folder), health_timeout=30, command_timeout=600)
            try:
                job = runtime.deploy(f"i-bench{run}", "Worker", f"v-bench{run}", data, environment)
                job.wait(900)
                if not job.healthy:
                    raise SystemExit(f"the deployment failed: {job.failure}")
                samples.append(job.seconds["InstallDependency"])
            finally:
                runtime.stop_all()
    return statistics.median(samples)


def pypi_install(lock: Path, runs: int) -> float | None:
    """Median seconds of `pip install -r requirements.txt` from PyPI into a new virtualenv (no pip cache), as an
    EB instance installs a bundle without a wheelhouse; None when the index does not answer."""
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([sys.executable, "-m", "venv", folder], check=True)
            started = time.perf_counter()
            done = subprocess.run([f"{folder}/bin/pip", "install", "--no-cache-dir", "--disable-pip-version-check",
                                   "-q", "-r", str(lock)], capture_output=True, text=True)
            if done.returncode != 0:
                print(f"(PyPI install left out: {done.stderr.strip().splitlines()[-1:]})")
                return None
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    local = load(ROOT / "eb_tools.yaml").stage("local")
    target: Target = target_for(local.platform, (local.web.instance_type, local.worker.instance_type))
    with tempfile.TemporaryDirectory() as out:
        plain = bundle.build(ROOT, Path(out) / "plain", working_tree=True)
        started = time.perf_counter()
        try:
            wheels = bundle.build(ROOT, Path(out) / "wheels", working_tree=True, target=target)
        except EbToolsError as error:  # no cache and no index: nothing to measure
            raise SystemExit(str(error)) from None
        build_seconds = time.perf_counter() - started
        plain_data, wheels_data = plain.path.read_bytes(), wheels.path.read_bytes()
    baseline = pypi_install(ROOT / "requirements.txt", args.runs)
    stand_in = instance_install(small_app(plain_data), args.runs)
    installed = instance_install(small_app(wheels_data), args.runs)
    rows = [(f"lock only ({plain.files} files)", plain.size, "local stand-in, no package installed", stand_in),
            ("lock only, as EB installs it", plain.size, "pip from PyPI, new venv, this machine", baseline),
            (f"wheelhouse {target.name} ({wheels.files} files)", wheels.size, "local instance, no index", installed)]
    print(f"{'bundle':<52} | {'size MB':>8} | {'vs lock':>7} | {'install s':>9} | {'vs PyPI':>7} | how installed")
    print("-" * 134)
    for name, size, how, seconds in rows:
        ratio = f"{seconds / baseline:6.2f}x" if seconds is not None and baseline else "      -"
        shown = f"{seconds:9.2f}" if seconds is not None else "        -"
        print(f"{name:<52} | {size / 1e6:8.2f} | {size / plain.size:6.1f}x | {shown} | {ratio} | {how}")
    print(f"medians of {args.runs} runs; the wheelhouse bundle built in {build_seconds:.1f} s from "
          f"{'the cache' if build_seconds < 5 else 'PyPI and the cache'}")


if __name__ == "__main__":
    main()
