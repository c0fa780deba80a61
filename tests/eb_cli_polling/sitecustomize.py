"""Imported by the eb CLI processes the tests run (their PYTHONPATH names this folder): the CLI's waits poll EB
every 0.5 s where they poll every 4-5 s (ebcli.operations.commonops._sleep, eventsops._sleep), since the local
cloud steps EB's operations every 0.3 s in these tests. What the CLI asks and prints is unchanged; a command
that waits for an operation ends a few seconds sooner."""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import time
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

POLL_SECONDS = 0.5
PATCHED = {"ebcli.operations.commonops", "ebcli.operations.eventsops"}


def _short_sleep(seconds: float = 5) -> None:
    time.sleep(min(seconds, POLL_SECONDS))


class _Polling(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of the modules above so that, once executed, their _sleep is ours."""

    def find_spec(self, name: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if name not in PATCHED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader, execute = spec.loader, spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            module._sleep = _short_sleep  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _Polling())
