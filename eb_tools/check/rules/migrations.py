"""Alembic migrations that the code running before them cannot survive.

Migrations run in the predeploy hook, while instances of the previous label still serve (a rolling deployment
moves batch by batch), and a rollback puts the previous label back on the migrated schema. So an `upgrade()`
that drops or renames a column or table, adds a NOT NULL column without a server default, or narrows a
column's type breaks the code that is still running or that a rollback returns to (eb_tools/formats/
migrations.py reads them). The safe pattern is expand/contract: one release stops using (or starts writing) a
column, a later release drops (or tightens) it; that later migration says so with a module-level
`contract_of = "<revision of the expand migration>"`, which must name an earlier migration of the bundle.
Source: EB developer guide, "Deployment policies and settings" (rolling deployments run old and new versions
side by side) and "Rolling back" (a redeploy of the previous version).
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule
from eb_tools.formats import migrations
from eb_tools.formats.migrations import Breaking

SOURCE = f"{GUIDE}using-features.rolling-version-deploy.html"
E951 = Rule("E951", "migration drops or renames what the running code uses", SOURCE)
E952 = Rule("E952", "new NOT NULL column without a server default", SOURCE)
E953 = Rule("E953", "migration narrows a column's type", SOURCE)
E954 = Rule("E954", "contract_of names no earlier migration", SOURCE)
E955 = Rule("E955", "migration script Alembic cannot load", SOURCE)
RULES = (E951, E952, E953, E954, E955)
CONTRACT_FIX = ("expand/contract: stop using it in one release, change the schema in a later one whose migration "
                "says contract_of = \"<revision of the earlier release's migration>\"")
NOT_NULL_FIX = ("add it nullable (or with server_default=...), fill it, and make it NOT NULL in a later release's "
                "migration marked contract_of")
WHY = {"drop": "the code still running during a rolling deployment, and the label a rollback returns to, use it",
       "rename": "the running code uses the old name",
       "not_null": "the running code inserts rows without it, and the database refuses them",
       "narrow": "values the running code writes may no longer fit"}


def check(context: CheckContext) -> Iterator[Finding]:
    scripts = {name: context.text(name) for name in context.files if migrations.is_script(name)}
    for path, line, what in migrations.problems(scripts):
        yield Finding(path, line, E955, f"the migration script {what}; the predeploy hook would fail on every "
                      "instance", "fix it, or move a file that is no migration out of the versions folder")
    found = migrations.read(scripts)
    revisions = {m.revision for m in found}
    for migration in found:
        if migration.contract_of is None:
            yield from (_finding(migration.path, breaking) for breaking in migration.breaking)
        elif migration.contract_of not in revisions or migration.contract_of == migration.revision:
            yield Finding(migration.path, migration.contract_line, E954, f"contract_of = {migration.contract_of!r} "
                          "names no earlier migration of this bundle", "name the revision of the expand migration")


def _finding(path: str, breaking: Breaking) -> Finding:
    rule = {"drop": E951, "not_null": E952, "narrow": E953}[breaking.kind]
    why = WHY["rename" if breaking.what.startswith("renames column") else breaking.kind]
    fix = NOT_NULL_FIX if breaking.kind == "not_null" else CONTRACT_FIX
    return Finding(path, breaking.line, rule, f"upgrade() {breaking.what}: {why}", fix)
