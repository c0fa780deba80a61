"""The source bundle, built as `eb deploy` builds it, but reproducibly.

Which files: those of git HEAD (the default) or of the working tree, minus what
`.ebignore` matches (gitwildmatch, as the eb CLI reads it with pathspec), minus
`.ebignore` itself, `.elasticbeanstalk/` and editor backups (`*~`), as the eb CLI
does. How: sorted entries, a fixed timestamp and unix modes (hooks stay
executable), so the same tree always gives the same bytes.

With a wheelhouse (a stage's `bundle: {wheelhouse: true}`), the bundle also carries the lock's wheels for the
stage's platform under wheelhouse/ and a requirements.txt that installs from them alone (eb_tools/wheelhouse.py);
its label says which platform, since a label names one set of bytes.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pathspec import PathSpec

from eb_tools import wheelhouse
from eb_tools.errors import BundleError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say; the same for every build
SIZE_LIMIT = 500 * 1024 * 1024  # EB's source bundle limit


@dataclass(frozen=True)
class Entry:
    path: str  # posix, relative to the root
    mode: int  # 0o755 or 0o644
    data: bytes


@dataclass(frozen=True)
class Bundle:
    path: Path
    size: int
    label: str
    files: int


def ignore_spec(root: Path) -> PathSpec:
    ebignore = root / ".ebignore"
    lines = ebignore.read_text(encoding="utf-8").splitlines() if ebignore.is_file() else []
    return PathSpec.from_lines("gitwildmatch", lines)


def _kept(path: str, spec: PathSpec) -> bool:
    return not (
        path == ".ebignore"
        or path.endswith("~")
        or ".elasticbeanstalk" in path.split("/")[:-1]
        or path.startswith(".elasticbeanstalk/")
        or spec.match_file(path)
    )


def included_files(root: Path) -> list[str]:
    """Working-tree files that would go into the bundle, sorted, posix paths."""
    spec = ignore_spec(root)
    found: list[str] = []
    for directory, dirs, files in os.walk(root):
        rel_dir = Path(directory).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        # Prune ignored directories early: .git and .venv hold most files of a checkout.
        dirs[:] = [d for d in dirs if not spec.match_file(f"{prefix}{d}/") and d != ".elasticbeanstalk"]
        found.extend(f"{prefix}{name}" for name in files if _kept(f"{prefix}{name}", spec))
    return sorted(found)


def _git(root: Path, *args: str) -> bytes:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True)
    if result.returncode != 0:
        raise BundleError(f"git {' '.join(args)}: {result.stderr.decode().strip()}")
    return result.stdout


def is_git_repo(root: Path) -> bool:
    return subprocess.run(["git", "rev-parse", "--git-dir"], cwd=root, capture_output=True).returncode == 0


def head_entries(root: Path) -> list[Entry]:
    """The files of git HEAD, with git's modes, minus the ignored ones."""
    spec = ignore_spec(root) if (root / ".ebignore").is_file() else _head_ebignore(root)
    entries = []
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", "HEAD").split(b"\0")
    for record in filter(None, listing):
        meta, path = record.decode().split("\t", 1)
        mode, kind, obj = meta.split()
        if kind != "blob" or not _kept(path, spec):
            continue  # submodules and ignored paths
        if mode == "120000":
            raise BundleError(f"{path}: symbolic links are not supported in bundles; replace it with the file")
        data = _git(root, "cat-file", "blob", obj)
        entries.append(Entry(path, 0o755 if mode == "100755" else 0o644, data))
    return sorted(entries, key=lambda e: e.path)


def _head_ebignore(root: Path) -> PathSpec:
    try:
        text = _git(root, "show", "HEAD:.ebignore").decode()
    except BundleError:
        text = ""
    return PathSpec.from_lines("gitwildmatch", text.splitlines())


def worktree_entries(root: Path) -> list[Entry]:
    entries = []
    for path in included_files(root):
        full = root / path
        if full.is_symlink():
            raise BundleError(f"{path}: symbolic links are not supported in bundles; replace it with the file")
        executable = os.stat(full).st_mode & stat.S_IXUSR
        entries.append(Entry(path, 0o755 if executable else 0o644, full.read_bytes()))
    return entries


def write_zip(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.path, date_time=FIXED_TIME)
            info.create_system = 3  # unix: external_attr carries the mode
            info.external_attr = (stat.S_IFREG | entry.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data)
    return buffer.getvalue()


def version_label(root: Path, entries: list[Entry], from_head: bool) -> str:
    """The short commit; '-dirty' and a content hash when the files differ from HEAD."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry.path}\0{entry.mode:o}\0".encode() + hashlib.sha256(entry.data).digest())
    if not is_git_repo(root):
        return f"nogit-{digest.hexdigest()[:12]}"
    short = _git(root, "rev-parse", "--short=10", "HEAD").decode().strip()
    if from_head:
        return short
    committed = {(e.path, e.mode, hashlib.sha256(e.data).digest()) for e in head_entries(root)}
    current = {(e.path, e.mode, hashlib.sha256(e.data).digest()) for e in entries}
    return short if committed == current else f"{short}-dirty-{digest.hexdigest()[:8]}"


def with_wheelhouse(entries: list[Entry], target: wheelhouse.Target, cache: Path) -> list[Entry]:
    """`entries` with the lock's wheels for `target` and the requirements.txt that installs from them alone."""
    lock = next((e for e in entries if e.path == "requirements.txt"), None)
    if lock is None:
        raise BundleError("requirements.txt: not in the bundle, so there is no lock to make a wheelhouse of; "
                          "add it (make lock), or set bundle: {wheelhouse: false} for the stage")
    if any(e.path.startswith(f"{wheelhouse.FOLDER}/") for e in entries):
        raise BundleError(f"{wheelhouse.FOLDER}/: the project has a folder of that name, where the bundle's "
                          "wheelhouse goes; rename it, or add it to .ebignore")
    text = lock.data.decode("utf-8", errors="replace")
    wheels = [Entry(f"{wheelhouse.FOLDER}/{wheel.name}", 0o644, wheel.read_bytes())
              for wheel in wheelhouse.collect(text, target, cache)]
    kept = [e for e in entries if e.path != lock.path]
    requirements = Entry(lock.path, lock.mode, wheelhouse.requirements_text(text, target).encode())
    return sorted([*kept, requirements, *wheels], key=lambda e: e.path)


def build(root: Path, output_dir: Path, working_tree: bool = False,
          target: wheelhouse.Target | None = None) -> Bundle:
    """The bundle zip in `output_dir`; with `target`, carrying the wheelhouse for it (cached under
    root/.cache/wheelhouse)."""
    if not working_tree and not is_git_repo(root):
        raise BundleError(f"{root} is not a git repository; commit it, or use --working-tree")
    entries = worktree_entries(root) if working_tree else head_entries(root)
    if not entries:
        raise BundleError("the bundle would be empty; check .ebignore")
    label = version_label(root, entries, from_head=not working_tree)
    if target is not None:
        entries = with_wheelhouse(entries, target, root / wheelhouse.CACHE)
        label = f"{label}-{target.name}"
    data = write_zip(entries)
    if len(data) > SIZE_LIMIT:
        raise BundleError(f"the bundle is {len(data)} bytes, over EB's {SIZE_LIMIT}-byte limit; extend .ebignore")
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{label}.zip"
    path.write_bytes(data)
    return Bundle(path, len(data), label, len(entries))
