"""What every rule sees: the bundle root and the files that would go into the bundle."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from eb_tools.bundle import included_files
from eb_tools.check import yamlines


@dataclass
class CheckContext:
    root: Path
    files: list[str] = field(default_factory=list)

    @classmethod
    def for_path(cls, root: Path) -> CheckContext:
        return cls(root, included_files(root))

    def matching(self, prefix: str, suffix: str = "") -> list[str]:
        return [f for f in self.files if f.startswith(prefix) and f.endswith(suffix)]

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8", errors="replace")

    @cached_property
    def ebextensions(self) -> list[str]:
        return sorted(f for f in self.matching(".ebextensions/", ".config") if f.count("/") == 1)

    def parsed(self, relative: str) -> object:
        """The file's YAML with line numbers, or the yaml.YAMLError it raised (parsed once)."""
        cache = self.__dict__.setdefault("_parsed", {})
        if relative not in cache:
            try:
                cache[relative] = yamlines.load(self.text(relative))
            except yaml.YAMLError as error:
                cache[relative] = error
        return cache[relative]
