"""The requirements' virtualenv, installed as the EB Python platform installs it and kept by digest.

On an instance the platform runs `pip install -r requirements.txt` into /var/app/venv/staging-LQM1lest at
every deployment (EB developer guide, "Specifying dependencies using a requirements file"; the venv's name in
users' eb-engine.log lines). Here a virtualenv is made once per digest of requirements.txt and mounted at
/var/app/venv by every instance whose bundle has that file, so an unchanged set costs nothing.

This machine cannot download: a new virtualenv is layered on the toolkit's own environment, whose packages
are the locked runtime versions (a .pth line puts its site-packages after the virtualenv's own; `venv
--system-site-packages` would layer it on the base interpreter's instead, whose packages are others), and
pip runs with --no-index, so a requirement this machine does not have fails the install for real, as a
missing dependency fails it on EB; pip reads no configuration of this machine (PIP_* variables, pip.conf),
whose extra indexes or find-links would make it find what an instance could not. Console scripts of the
toolkit's packages (gunicorn, pip) are written into the virtualenv's bin with its own Python, as pip would
have written them there.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NAME = "staging-LQM1lest"  # the platform's virtualenv, /var/app/venv/staging-LQM1lest
INSTANCE_PATH = f"/var/app/venv/{NAME}"
PIP = [f"{INSTANCE_PATH}/bin/pip", "install", "--no-index", "--no-cache-dir", "--disable-pip-version-check",
       "-r", "requirements.txt"]

# (argv, venv folder to mount at /var/app/venv) -> (exit status, output): a step run in the instance's paths
Run = Callable[[list[str], Path], tuple[int, str]]


@dataclass(frozen=True)
class Installed:
    folder: Path  # what to mount at /var/app/venv
    seconds: float  # what this deployment spent on it
    reused: bool  # the digest's virtualenv was there already


class InstallFailed(Exception):
    def __init__(self, status: int, output: str) -> None:
        super().__init__(f"exit status {status}")
        self.status, self.output = status, output


class Venvs:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def install(self, requirements: bytes | None, run: Run) -> Installed:
        """The virtualenv of `requirements` (requirements.txt's bytes; None for a bundle without one, where pip
        has nothing to do), made with `run` when new; InstallFailed with pip's output when pip fails (nothing is
        kept then, so the next deployment tries again)."""
        started = time.monotonic()
        digest = "none" if requirements is None else hashlib.sha256(requirements).hexdigest()[:16]
        with self._guard:
            lock = self._locks.setdefault(digest, threading.Lock())
        with lock:  # instances deploying the same set at once wait for one install
            ready = self.folder / digest
            if ready.is_dir():
                return Installed(ready, time.monotonic() - started, reused=True)
            partial = self.folder / f"{digest}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            status, output = run([sys.executable, "-m", "venv", "--without-pip", INSTANCE_PATH], partial)
            if status == 0:
                _layer_on_toolkit(partial / NAME)
                if requirements is not None:
                    status, output = run(PIP, partial)
            if status != 0:
                shutil.rmtree(partial, ignore_errors=True)
                raise InstallFailed(status, output)
            partial.rename(ready)
        return Installed(ready, time.monotonic() - started, reused=False)


def pip_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` for pip: no PIP_* variable, no configuration file (see the module docstring)."""
    return {**{k: v for k, v in env.items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull}


def _layer_on_toolkit(venv: Path) -> None:
    """The toolkit's site-packages after the virtualenv's own, and its console scripts in the virtualenv's bin."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "toolkit.pth").write_text(f"{purelib}\n")
    toolkit_bin = Path(sys.executable).parent
    for script in sorted(toolkit_bin.iterdir()):
        target = venv / "bin" / script.name
        if target.exists() or not script.is_file():
            continue
        with script.open("rb") as file:
            first = file.readline()
        if first.startswith(b"#!") and first[2:].strip().startswith(str(toolkit_bin).encode()):
            target.write_bytes(f"#!{INSTANCE_PATH}/bin/python\n".encode() + script.read_bytes()[len(first):])
            target.chmod(0o755)
