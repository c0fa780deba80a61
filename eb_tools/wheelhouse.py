"""A wheelhouse: the wheels of every package the lock pins, for one stage's platform, carried in the bundle
with a requirements.txt that installs from them alone, so no instance resolves or reaches a package index at a
deployment or a scale-out.

What it relies on:
- EB's Python platform runs `/var/app/venv/staging-LQM1lest/bin/pip install -r requirements.txt` in
  /var/app/staging and passes pip no other option (users' eb-engine.log: "Running command:
  /var/app/venv/staging-LQM1lest/bin/pip install -r requirements.txt"; EB developer guide,
  python-configuration-requirements, which sends to pip's requirements file format): the file's own options
  are the only ones pip gets.
- `--no-index` and `--find-links` are global options a requirements file may carry (pip's "Requirements File
  Format", Global options), wherever they stand in it. A relative `--find-links` folder is taken relative to
  the requirements file's folder when it exists there, else to the working directory (pip's
  src/pip/_internal/req/req_file.py, handle_option_line): on an instance both are /var/app/staging.
- With hashes in the file pip is in hash-checking mode: each wheel must match one of its line's hashes.
- The platform "Python 3.11 running on 64bit Amazon Linux 2023" runs CPython 3.11. Graviton instance types
  have a `g` after the generation digit (C6g[d], M6g[d], R6g[d], T4g, X2gd, C6gn, I4g, Im4gn, Is4gen, G5g,
  C7g[d][n], M7g[d], R7g[d], R8g: aws/aws-graviton-getting-started), A1 is the first Arm generation: aarch64;
  the others are x86_64. Amazon Linux 2023 has glibc 2.34, Amazon Linux 2 glibc 2.26 (AL2023 user guide,
  "Improved toolchain: gcc, binutils, and glibc"): the newest manylinux_2_X tag a wheel may carry (PEP 600).
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from eb_tools.errors import BundleError
from eb_tools.formats import requirements

FOLDER = "wheelhouse"  # in the bundle, beside requirements.txt
MARKER = "# eb_tools wheelhouse: "  # the line before the options the bundle's requirements.txt ends with
PLATFORM = re.compile(r"^Python (\d+)\.(\d+) running on 64bit Amazon Linux (2023|2)\b")
GLIBC = {"2023": 34, "2": 26}  # glibc 2.x of each Amazon Linux
GRAVITON = re.compile(r"^(a1|[a-z]+\d+g[a-z-]*)\.")
CACHE = Path(".cache") / "wheelhouse"  # under the project: one folder per Target.name
LOCK_FIX = "run make lock, which pins every package with its hashes"


@dataclass(frozen=True)
class Target:
    """The interpreter and machine of a stage's instances: which wheels run there."""

    python: tuple[int, int]
    arch: str  # x86_64 or aarch64
    glibc: int  # 2.x

    @property
    def name(self) -> str:
        """e.g. cp311-manylinux_2_34_x86_64: the cache folder, the bundle's label suffix, the marker line."""
        return f"cp{self.python[0]}{self.python[1]}-manylinux_2_{self.glibc}_{self.arch}"

    @classmethod
    def from_name(cls, name: str) -> Target | None:
        match = re.fullmatch(r"cp(\d)(\d+)-manylinux_2_(\d+)_(x86_64|aarch64)", name)
        if match is None:
            return None
        return cls((int(match[1]), int(match[2])), match[4], int(match[3]))

    def platforms(self) -> list[str]:
        """Every platform tag a wheel may carry to run here, newest first (PEP 600's, then the legacy aliases)."""
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        found = [f"manylinux_2_{minor}_{self.arch}" for minor in range(self.glibc, 4, -1)]
        kept = legacy if self.arch == "x86_64" else {17: "manylinux2014"}
        return found + [f"{alias}_{self.arch}" for minor, alias in kept.items() if minor <= self.glibc]

    def tags(self) -> list[Tag]:
        """The wheel tags pip accepts on the instances, most specific first."""
        platforms = self.platforms()
        interpreter = f"cp{self.python[0]}{self.python[1]}"
        return [*cpython_tags(self.python, [interpreter], platforms),
                *compatible_tags(self.python, interpreter, platforms)]

    def fits(self, filename: str) -> bool:
        """Whether the wheel file `filename` installs here."""
        try:
            tags = parse_wheel_filename(filename)[3]
        except InvalidWheelFilename:
            return False
        return not tags.isdisjoint(self.tags())


def target_for(platform: str, instance_types: Iterable[str]) -> Target:
    """The Target of a stage: its platform's Python and Amazon Linux, its instance types' one architecture.
    ValueError (one line) when the platform names no Python on Amazon Linux or the types mix architectures."""
    match = PLATFORM.match(platform)
    if match is None:
        raise ValueError(f"a wheelhouse needs the platform's Python version: {platform!r} is not "
                         "'Python X.Y running on 64bit Amazon Linux 2023' (or 2)")
    arches = {("aarch64" if GRAVITON.match(kind) else "x86_64"): kind for kind in instance_types}
    if len(arches) > 1:
        raise ValueError(f"a wheelhouse serves one architecture, and the tiers' instance types mix them "
                         f"({', '.join(f'{kind}: {arch}' for arch, kind in sorted(arches.items()))}): give both "
                         "tiers Graviton types or neither")
    return Target((int(match[1]), int(match[2])), next(iter(arches)), GLIBC[match[3]])


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>"
    marker: str = ""  # the environment marker of a universal lock's line (python_full_version < '3.12')
    line: int = 0  # where it starts in the lock

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.version

    def applies(self, target: Target) -> bool:
        """Whether pip installs this line on some interpreter of `target` (any X.Y.z: the platform's patch
        release is not known here and moves within a platform branch)."""
        if not self.marker:
            return True
        marker, (major, minor) = Marker(self.marker), target.python
        base = {"implementation_name": "cpython", "platform_python_implementation": "CPython",
                "sys_platform": "linux", "os_name": "posix", "platform_system": "Linux",
                "platform_machine": target.arch, "python_version": f"{major}.{minor}"}
        return any(marker.evaluate({**base, "python_full_version": f"{major}.{minor}.{patch}",
                                    "implementation_version": f"{major}.{minor}.{patch}"})
                   for patch in range(40))


def read_lock(text: str, where: str = "requirements.txt") -> list[Pin]:
    """Every line of the lock, exactly pinned and hashed; BundleError naming the first line that is not."""
    parsed = requirements.parse(text)
    for problem in parsed.problems:
        raise BundleError(f"{where}:{problem.line}: {problem.message}; {LOCK_FIX}")
    for line, option in parsed.options:
        raise BundleError(f"{where}:{line}: option {option.split()[0]} in the lock: a bundle with a wheelhouse "
                          f"writes its own index options; remove it ({LOCK_FIX})")
    pins = []
    for item in parsed.requirements:
        if item.exact is None or not item.hashes:
            lacks = "is not pinned to one version (==)" if item.exact is None else "has no --hash"
            raise BundleError(f"{where}:{item.line}: {item.name}{item.specifier} {lacks}: a wheelhouse holds one "
                              f"checked wheel per package; {LOCK_FIX}")
        pins.append(Pin(item.name, item.exact, item.hashes, item.marker, item.line))
    if not pins:
        raise BundleError(f"{where}: pins no package, so there is no wheelhouse to make; {LOCK_FIX}")
    return pins


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def matching(pins: list[Pin], target: Target, wheels: Iterable[Path]) -> dict[tuple[str, str], Path]:
    """{(package, version): its wheel among `wheels`} for each pin with a wheel of its version for `target`
    matching one of its hashes (the most specific tag when several do)."""
    rank = {tag: index for index, tag in enumerate(target.tags())}
    best: dict[tuple[str, str], tuple[int, Path]] = {}
    wanted = {pin.key: pin for pin in pins}
    for wheel in wheels:
        try:
            name, version, _, tags = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            continue
        pin = wanted.get((canonicalize_name(name), str(version)))
        score = min((rank[tag] for tag in tags if tag in rank), default=None)
        if pin is None or score is None or sha256(wheel) not in pin.hashes:
            continue
        if pin.key not in best or score < best[pin.key][0]:
            best[pin.key] = (score, wheel)
    return {key: wheel for key, (_, wheel) in best.items()}


def needed(lock_text: str, target: Target) -> list[Pin]:
    """The lock's lines pip may install on `target`'s instances (markers for other interpreters left out)."""
    return [pin for pin in read_lock(lock_text) if pin.applies(target)]


def collect(lock_text: str, target: Target, cache: Path) -> list[Path]:
    """The lock's wheels for `target`, in the lock's order: from `cache`/<target> when there, the rest fetched
    into it with `pip download` (which honours the user's pip configuration, such as an index mirror)."""
    pins = needed(lock_text, target)
    folder = cache / target.name
    found = matching(pins, target, folder.glob("*.whl"))
    missing = [pin for pin in pins if pin.key not in found]
    for batch in _one_version_each(missing):  # pip downloads one version of a package per run
        _download(batch, target, folder)
    found = matching(pins, target, folder.glob("*.whl"))
    for pin in pins:
        if pin.key not in found:
            raise BundleError(f"requirements.txt: pip download brought no wheel of {pin.name}=={pin.version} for "
                              f"{target.name} matching the lock's hashes; set bundle: {{wheelhouse: false}} for "
                              "the stage, or pin a version that publishes such a wheel")
    return [found[pin.key] for pin in pins]


def _one_version_each(pins: list[Pin]) -> list[list[Pin]]:
    batches: list[list[Pin]] = []
    for pin in pins:
        batch = next((b for b in batches if all(other.name != pin.name for other in b)), None)
        if batch is None:
            batches.append(batch := [])
        batch.append(pin)
    return batches


def _download(pins: list[Pin], target: Target, folder: Path) -> None:
    """`pip download` of exactly these pins' wheels for `target`, checked against their hashes, into `folder`
    (through a temporary folder, so the cache never holds a partial file)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as temporary:
        lock = Path(temporary) / "requirements.txt"
        lock.write_text("".join(f"{p.name}=={p.version} {' '.join(f'--hash={h}' for h in p.hashes)}\n"
                                for p in pins))
        python = f"{target.python[0]}.{target.python[1]}"
        argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:",
                "--no-deps", "--implementation", "cp", "--python-version", python,
                *[arg for abi in (f"cp{target.python[0]}{target.python[1]}", "abi3", "none")
                  for arg in ("--abi", abi)],
                *[arg for platform in target.platforms() for arg in ("--platform", platform)],
                "--require-hashes", "--dest", str(Path(temporary) / "wheels"), "-r", str(lock)]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or [done.stderr.strip()]
            raise BundleError(f"pip download of the wheelhouse for {target.name} failed: {errors[0][:300]}; "
                              "check that the package index is reachable, or set bundle: {wheelhouse: false} for "
                              "the stage")
        for wheel in (Path(temporary) / "wheels").glob("*.whl"):
            shutil.move(wheel, folder / wheel.name)


def requirements_text(lock_text: str, target: Target) -> str:
    """The bundle's requirements.txt: the lock unchanged, then the options that make pip install from the
    wheelhouse alone (global options apply wherever they stand, so the lock's first line stays its own)."""
    ending = "" if lock_text.endswith("\n") else "\n"
    return (f"{lock_text}{ending}{MARKER}{target.name} (eb_tools bundle: pip installs from the bundle's "
            f"{FOLDER}/ only)\n--no-index\n--find-links {FOLDER}\n")


def declared(text: str) -> tuple[str, Target] | None:
    """(the lock, the Target) of a bundle's requirements.txt whose marker line names a platform: the text before
    the line, and that platform; None otherwise."""
    lock, found, rest = text.partition(f"\n{MARKER}")
    target = Target.from_name(rest.split(" ", 1)[0].strip()) if found else None
    return None if target is None else (lock + "\n", target)
