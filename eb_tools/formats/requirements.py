"""pip's requirements files, as EB's Python platform reads `requirements.txt` (pip install -r), with lines.

A requirement may span lines (a trailing backslash, as `--hash` options do); its line is the one it starts
on. Options (`-r`, `-c`, `--index-url`, `-e`, `--find-links`) are kept apart with their lines, not judged;
URLs are skipped. A lock made by `make lock`
starts with a line naming the digest of its source (`# source sha256: ...`), so that a lock and the file it
was generated from can be compared offline: `check` for requirements.txt and requirements.in, the tests for
the dev extra's constraints.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement

from eb_tools.formats.problems import Problem

SOURCE_LINE = re.compile(r"^# source sha256: ([0-9a-f]{64})\b")
HASH = re.compile(r"--hash[= ]([a-z0-9]+:[0-9a-f]+)")
PINNED = re.compile(r"^===?[^,*<>!~=]+$")  # one exact version: ==1.2.3 (no wildcard), or ===


@dataclass(frozen=True)
class Pinned:
    """One requirement line: the package, what it allows, and the hashes pip is to check."""

    name: str  # normalised as pip compares names: lower case, runs of -_. as one -
    specifier: str  # "" when any version goes
    marker: str
    hashes: tuple[str, ...]
    line: int

    @property
    def exact(self) -> str | None:
        """The one version allowed, or None when the specifier allows several."""
        return self.specifier.lstrip("=") if PINNED.match(self.specifier) else None


@dataclass
class RequirementsFile:
    requirements: list[Pinned] = field(default_factory=list)
    problems: list[Problem[str]] = field(default_factory=list)  # lines pip could not read as a requirement
    source_digest: str | None = None  # from the `# source sha256:` line a lock starts with
    options: list[tuple[int, str]] = field(default_factory=list)  # (line, text) of each option line

    def find_links(self) -> list[str]:
        """The folders or URLs of the file's `--find-links` / `-f` options, as written."""
        found = []
        for _, option in self.options:
            name, _, value = option.replace("=", " ", 1).partition(" ")
            if name in ("-f", "--find-links") and value.strip():
                found.append(value.strip())
        return found

    def by_name(self) -> dict[str, Pinned]:
        return {r.name: r for r in self.requirements}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(text: str) -> RequirementsFile:
    """Every requirement of `text`; never raises."""
    result = RequirementsFile()
    first = text.splitlines()[0] if text else ""
    if match := SOURCE_LINE.match(first):
        result.source_digest = match.group(1)
    for line, logical in _logical_lines(text):
        body = logical.split(" #", 1)[0].strip() if not logical.lstrip().startswith("#") else ""
        if body.startswith("-"):
            result.options.append((line, body))
            continue
        if not body or "://" in body:
            continue
        hashes = tuple(HASH.findall(body))
        requirement = HASH.sub("", body).strip()
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement as error:
            reason = str(error).splitlines()[0]  # packaging adds the line and a caret below it
            result.problems.append(Problem(line, "requirement", f"not a requirement pip reads: {reason}",
                                           "write name==version, one a line (make lock does)"))
            continue
        result.requirements.append(Pinned(normalise(parsed.name), str(parsed.specifier),
                                          str(parsed.marker or ""), hashes, line))
    return result


def source_digest(lines: Iterable[str]) -> str:
    """The digest a lock records of its source: of the source's requirements, each normalised (so comments,
    order and spacing do not count)."""
    found = []
    for text in lines:
        body = text.split("#", 1)[0].strip()
        if body:
            found.append(re.sub(r"\s+", "", body).lower())
    return hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(number of its first line, the line with its continuations joined), as pip joins them."""
    start, parts = 0, list[str]()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if raw.rstrip().endswith("\\"):
            parts.append(raw.rstrip()[:-1])
            continue
        parts.append(raw)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)
