"""Platform hooks: executable, with a shebang, LF line endings, in a known stage folder.

Source: EB developer guide, "Extending Elastic Beanstalk Linux platforms" (platform hooks).
"""
from __future__ import annotations

import stat
from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule

SOURCE = f"{GUIDE}platforms-linux-extend.hooks.html"
# Platform versions released since 29 April 2022 make hooks executable themselves; older ones skip the file.
W501 = Rule("W501", "hook not executable (skipped by platform versions before 29 April 2022)", SOURCE)
E502 = Rule("E502", "hook without shebang", SOURCE)
E503 = Rule("E503", "hook with CRLF line endings", SOURCE)
E504 = Rule("E504", "hook in an unknown stage folder", SOURCE)
RULES = (W501, E502, E503, E504)
ROOTS = (".platform/hooks/", ".platform/confighooks/")
STAGES = ("prebuild", "predeploy", "postdeploy")


def check(context: CheckContext) -> Iterator[Finding]:
    for path in context.files:
        root = next((r for r in ROOTS if path.startswith(r)), None)
        if root is None:
            continue
        stage = path[len(root):].split("/")[0]
        if stage not in STAGES or path.count("/") != root.count("/") + 1:
            yield Finding(path, None, E504, f"hooks run only from {root}{{{','.join(STAGES)}}}/",
                          f"move it into one of {', '.join(STAGES)}")
            continue
        data = context.read_bytes(path)
        if not context.stat(path).st_mode & stat.S_IXUSR:
            yield Finding(path, None, W501, "hook is not executable: platform versions released before 29 April "
                          "2022 skip it (later ones make it executable)",
                          f"chmod +x {path} && git update-index --chmod=+x {path}")
        if not data.startswith(b"#!"):
            yield Finding(path, 1, E502, "hook has no shebang line", "make the first line e.g. #!/bin/bash")
        if b"\r\n" in data:
            line = data[: data.index(b"\r\n")].count(b"\n") + 1
            yield Finding(path, line, E503, "hook has CRLF line endings: '/bin/bash\\r' does not exist",
                          "convert it to LF (dos2unix, or your editor's line-ending setting)")
