"""Bundle size: Elastic Beanstalk refuses source bundles over 500 MB.

Source: EB developer guide, "Create an application source bundle".
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools.bundle import SIZE_LIMIT
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule

E801 = Rule("E801", "bundle over the size limit", f"{GUIDE}applications-sourcebundle.html")
RULES = (E801,)


def check(context: CheckContext) -> Iterator[Finding]:
    sizes = {path: context.stat(path).st_size for path in context.files}
    total = sum(sizes.values())
    if total > SIZE_LIMIT:
        largest = max(sizes, key=lambda p: sizes[p])
        yield Finding(".", None, E801, f"the bundle's files add up to {total} bytes, over EB's {SIZE_LIMIT}",
                      f"add large paths to .ebignore (largest: {largest})")
