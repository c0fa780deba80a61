"""What every rule sees: the bundle root, the files that would go into the bundle, and the app around it.

Rules read files only through the context, which remembers the file being read,
so that a rule that crashes can be reported against the file it was reading.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from eb_tools.bundle import included_files
from eb_tools.formats import yamlines

# The stage file of eb_tools (eb_tools/stage_file.py). Every stage it declares has a web and a worker
# environment, so a bundle beside one is deployed to both tiers.
STAGE_FILE = "eb_tools.yaml"


@dataclass
class CheckContext:
    root: Path
    files: list[str] = field(default_factory=list)  # regular files, as the bundle would hold them
    links: list[str] = field(default_factory=list)  # symbolic links, which the bundle refuses
    reading: str | None = None  # the file a rule read last

    @classmethod
    def for_path(cls, root: Path) -> CheckContext:
        found = included_files(root)
        links = [f for f in found if (root / f).is_symlink()]
        linked = set(links)
        return cls(root, [f for f in found if f not in linked], links)

    @property
    def both_tiers(self) -> bool:
        """Whether the bundle goes to a worker environment as well as a web one (the stage file says so)."""
        return (self.root / STAGE_FILE).is_file()

    def matching(self, prefix: str, suffix: str = "") -> list[str]:
        return [f for f in self.files if f.startswith(prefix) and f.endswith(suffix)]

    def read_bytes(self, relative: str) -> bytes:
        self.reading = relative
        return (self.root / relative).read_bytes()

    def text(self, relative: str) -> str:
        return self.read_bytes(relative).decode("utf-8", errors="replace")

    def stat(self, relative: str) -> os.stat_result:
        self.reading = relative
        return os.stat(self.root / relative)

    @cached_property
    def ebextensions(self) -> list[str]:
        """The configuration files EB reads, in the order it applies them (by name)."""
        return sorted(f for f in self.matching(".ebextensions/", ".config") if f.count("/") == 1)

    def parsed(self, relative: str) -> object:
        """The file's YAML with line numbers, or the yaml.YAMLError it raised (parsed once)."""
        cache = self.__dict__.setdefault("_parsed", {})
        if relative not in cache:
            try:
                cache[relative] = yamlines.load(self.text(relative))
            except yaml.YAMLError as error:
                cache[relative] = error
        self.reading = relative
        return cache[relative]
