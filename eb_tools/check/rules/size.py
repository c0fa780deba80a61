"""Bundle size: Elastic Beanstalk refuses source bundles over 500 MB.

Source: EB developer guide, "Create an application source bundle".
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools.bundle import SIZE_LIMIT
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding

RULES = {"E801": "bundle over the size limit"}


def check(context: CheckContext) -> Iterator[Finding]:
    total = sum((context.root / path).stat().st_size for path in context.files)
    if total > SIZE_LIMIT:
        largest = max(context.files, key=lambda p: (context.root / p).stat().st_size)
        yield Finding(".", None, "E801", f"the bundle's files add up to {total} bytes, over EB's {SIZE_LIMIT}",
                      f"add large paths to .ebignore (largest: {largest})")
