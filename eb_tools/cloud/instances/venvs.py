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

A bundle that brings its own wheels (requirements.txt says `--no-index` and `--find-links` a folder of the
bundle, as pip reads those options in a requirements file) needs no stand-in for the index: its virtualenv
holds pip alone, pip runs as the platform runs it (`pip install -r requirements.txt`, nothing more) with the
index pointed at a port that refuses, and installs exactly the bundle's wheels, so a missing wheel or one for
another platform fails the install as it would on EB. Its digest covers the wheels too.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eb_tools.formats import requirements as requirements_file

NAME = "staging-LQM1lest"  # the platform's virtualenv, /var/app/venv/staging-LQM1lest
INSTANCE_PATH = f"/var/app/venv/{NAME}"
PIP = [f"{INSTANCE_PATH}/bin/pip", "install", "--no-index", "--no-cache-dir", "--disable-pip-version-check",
       "-r", "requirements.txt"]
PLATFORM_PIP = [f"{INSTANCE_PATH}/bin/pip", "install", "-r", "requirements.txt"]  # EB's own command, unchanged
NO_INDEX = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple/", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}  # an index that refuses (port 9)

# (argv, venv folder to mount at /var/app/venv) -> (exit status, output): a step run in the instance's paths
Run = Callable[[list[str], Path], tuple[int, str]]


@dataclass(frozen=True)
class Installed:
    folder: Path  # what to mount at /var/app/venv
    seconds: float  # what this deployment spent on it
    reused: bool  # the digest's virtualenv was there already


class InstallFailed(Exception):
    def __init__(self, command: list[str], status: int, output: str) -> None:
        super().__init__(f"exit status {status}")
        self.command, self.status, self.output = command, status, output


@dataclass(frozen=True)
class Requirements:
    """What pip reads from a bundle: requirements.txt, and the wheels in the bundle's folders it names with
    --find-links (relative to the file's folder, /var/app/staging, as pip takes them)."""

    text: bytes | None  # None: the bundle has no requirements.txt, and pip has nothing to do
    wheels: tuple[tuple[str, str], ...] = ()  # (path in the bundle, sha256) of each file in those folders
    self_contained: bool = False  # --no-index and a folder of the bundle: pip needs no index

    @classmethod
    def read(cls, staging: Path) -> Requirements:
        path = staging / "requirements.txt"
        if not path.is_file():
            return cls(None)
        text = path.read_bytes()
        parsed = requirements_file.parse(text.decode("utf-8", errors="replace"))
        inside = [staging / f for f in parsed.find_links() if "://" not in f and not posixpath.isabs(f)]
        folders = [f for f in inside if f.is_dir() and f.resolve().is_relative_to(staging.resolve())]
        wheels = tuple((file.relative_to(staging).as_posix(), hashlib.sha256(file.read_bytes()).hexdigest())
                       for folder in folders for file in sorted(folder.iterdir()) if file.is_file())
        no_index = any(option.split()[0] == "--no-index" for _, option in parsed.options)
        return cls(text, wheels, self_contained=no_index and bool(folders))

    @property
    def digest(self) -> str:
        if self.text is None:
            return "none"
        listing = "".join(f"\n{path} {digest}" for path, digest in self.wheels).encode()
        return hashlib.sha256(self.text + listing).hexdigest()[:16]


class Venvs:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def install(self, requirements: Requirements, run: Run) -> Installed:
        """The virtualenv of `requirements`, made with `run` when new; InstallFailed with pip's command and
        output when pip fails (nothing is kept then, so the next deployment tries again)."""
        started = time.monotonic()
        digest = requirements.digest
        with self._guard:
            lock = self._locks.setdefault(digest, threading.Lock())
        with lock:  # instances deploying the same set at once wait for one install
            ready = self.folder / digest
            if ready.is_dir():
                return Installed(ready, time.monotonic() - started, reused=True)
            partial = self.folder / f"{digest}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            command = PLATFORM_PIP if requirements.self_contained else PIP
            status, output = run([sys.executable, "-m", "venv", "--without-pip", INSTANCE_PATH], partial)
            if status == 0:
                _layer(partial / NAME, pip_only=requirements.self_contained)
                if requirements.text is not None:
                    status, output = run(command, partial)
            if status != 0:
                shutil.rmtree(partial, ignore_errors=True)
                raise InstallFailed(command, status, output)
            partial.rename(ready)
        return Installed(ready, time.monotonic() - started, reused=False)


def pip_environment(env: dict[str, str], requirements: Requirements) -> dict[str, str]:
    """`env` for pip: no PIP_* variable, no configuration file (see the module docstring); for a bundle that
    brings its wheels, an index that refuses."""
    return {**{k: v for k, v in env.items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull,
            **(NO_INDEX if requirements.self_contained else {})}


def _layer(venv: Path, pip_only: bool) -> None:
    """The toolkit's site-packages after the virtualenv's own and its console scripts in the virtualenv's bin;
    with `pip_only`, its pip alone (the package linked into site-packages, and pip's script)."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    if pip_only:
        (site / "pip").symlink_to(purelib / "pip", target_is_directory=True)
    else:
        (site / "toolkit.pth").write_text(f"{purelib}\n")
    toolkit_bin = Path(sys.executable).parent
    for script in sorted(toolkit_bin.iterdir()):
        target = venv / "bin" / script.name
        if target.exists() or not script.is_file() or (pip_only and script.name != "pip"):
            continue
        with script.open("rb") as file:
            first = file.readline()
        if first.startswith(b"#!") and first[2:].strip().startswith(str(toolkit_bin).encode()):
            target.write_bytes(f"#!{INSTANCE_PATH}/bin/python\n".encode() + script.read_bytes()[len(first):])
            target.chmod(0o755)
