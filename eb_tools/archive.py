"""A source bundle unpacked as Elastic Beanstalk unpacks it: every file with the mode its zip records, so hooks
stay executable, and no entry outside the folder. Shared by the emulated instances (which stage the bundle in
/var/app/staging) and `eb_tools check` (which checks a built bundle's zip as it unpacks)."""
from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
from pathlib import Path


class ArchiveError(Exception):
    """The bundle cannot be unpacked; the message is one line."""


def extract(bundle: bytes, target: Path) -> list[str]:
    """The bundle's files under `target` (made anew) with the modes the zip records, as EB unpacks it, so hooks
    stay executable; the bundle's paths, sorted."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(bundle))
    except zipfile.BadZipFile:
        raise ArchiveError("The source bundle is not a valid ZIP archive.") from None
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    names = []
    for info in archive.infolist():
        path = (target / info.filename).resolve()
        if not path.is_relative_to(target.resolve()):
            raise ArchiveError(f"The source bundle's entry {info.filename} lies outside the application folder.")
        archive.extract(info, target)
        mode = info.external_attr >> 16
        if not info.is_dir():
            names.append(info.filename)
            if mode & 0o777:
                os.chmod(path, stat.S_IMODE(mode))
    return sorted(names)
