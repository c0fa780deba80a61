"""Alembic migrations that the code running before them cannot survive.

Migrations run in the predeploy hook, while instances of the previous label still serve (a rolling deployment
moves batch by batch), and a rollback puts the previous label back on the migrated schema. So an `upgrade()`
that drops or renames a column or table, adds a NOT NULL column without a server default, or narrows a
column's type breaks the code that is still running or that a rollback returns to. The safe pattern is
expand/contract: one release stops using (or starts writing) a column, a later release drops (or tightens) it;
that later migration says so with a module-level `contract_of = "<revision of the expand migration>"`, which
must name an earlier migration of the bundle. Read statically (ast): nothing is imported or run.
Source: EB developer guide, "Deployment policies and settings" (rolling deployments run old and new versions
side by side) and "Rolling back" (a redeploy of the previous version).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule

SOURCE = f"{GUIDE}using-features.rolling-version-deploy.html"
E951 = Rule("E951", "migration drops or renames what the running code uses", SOURCE)
E952 = Rule("E952", "new NOT NULL column without a server default", SOURCE)
E953 = Rule("E953", "migration narrows a column's type", SOURCE)
E954 = Rule("E954", "contract_of names no earlier migration", SOURCE)
RULES = (E951, E952, E953, E954)
DROPS = {"drop_column": "drops column", "drop_table": "drops table", "rename_table": "renames table"}
NARROWER = {("Text", "String"), ("BigInteger", "Integer"), ("BigInteger", "SmallInteger"), ("Integer", "SmallInteger")}
CONTRACT_FIX = ("expand/contract: stop using it in one release, change the schema in a later one whose migration "
                "says contract_of = \"<revision of the earlier release's migration>\"")


def check(context: CheckContext) -> Iterator[Finding]:
    migrations = {}
    for name in context.files:
        if "/versions/" in f"/{name}" and name.endswith(".py"):
            tree = _parse(context.text(name))
            if tree is not None and _assigned(tree, "revision") is not None and _function(tree, "upgrade"):
                migrations[name] = tree
    revisions = {_assigned(tree, "revision") for tree in migrations.values()}
    for name, tree in sorted(migrations.items()):
        contract = _assigned(tree, "contract_of")
        if contract is not None:
            if contract not in revisions or contract == _assigned(tree, "revision"):
                yield Finding(name, _line_of(tree, "contract_of"), E954, f"contract_of = {contract!r} names no "
                              "earlier migration of this bundle", "name the revision of the expand migration")
            continue
        yield from _operations(name, _function(tree, "upgrade"))


def _operations(name: str, upgrade: ast.FunctionDef | None) -> Iterator[Finding]:
    for call in (n for n in ast.walk(upgrade) if isinstance(n, ast.Call)) if upgrade else ():
        operation = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        args = [_literal(a) for a in call.args]
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if operation in DROPS:
            what = ".".join(str(a) for a in args[:2] if a is not None)
            yield Finding(name, call.lineno, E951, f"upgrade() {DROPS[operation]} {what}: the code still running "
                          "during a rolling deployment, and the label a rollback returns to, use it", CONTRACT_FIX)
        elif operation == "alter_column" and "new_column_name" in keywords:
            yield Finding(name, call.lineno, E951, f"upgrade() renames column {'.'.join(map(str, args[:2]))} to "
                          f"{_literal(keywords['new_column_name'])}: the running code uses the old name", CONTRACT_FIX)
        elif operation == "add_column":
            yield from _new_column(name, call)
        elif operation == "alter_column" and _narrows(keywords):
            yield Finding(name, call.lineno, E953, f"upgrade() narrows {'.'.join(map(str, args[:2]))} from "
                          f"{ast.unparse(keywords['existing_type'])} to {ast.unparse(keywords['type_'])}: values the "
                          "running code writes may no longer fit", CONTRACT_FIX)


def _new_column(name: str, call: ast.Call) -> Iterator[Finding]:
    column = next((a for a in call.args if isinstance(a, ast.Call)), None)
    if column is None:
        return
    keywords = {k.arg: k.value for k in column.keywords if k.arg}
    not_null = _literal(keywords["nullable"]) is False if "nullable" in keywords else False
    if not_null and "server_default" not in keywords:
        label = _literal(column.args[0]) if column.args else "?"
        yield Finding(name, call.lineno, E952, f"upgrade() adds NOT NULL column {label} without a server default: "
                      "the running code inserts rows without it, and the database refuses them",
                      "add it nullable (or with server_default=...), fill it, and make it NOT NULL in a later "
                      "release's migration marked contract_of")


def _narrows(keywords: dict[str, ast.expr]) -> bool:
    if "type_" not in keywords or "existing_type" not in keywords:
        return False
    new, old = _type(keywords["type_"]), _type(keywords["existing_type"])
    if (old[0], new[0]) in NARROWER:
        return True
    return old[0] == new[0] == "String" and old[1] is not None and new[1] is not None and new[1] < old[1]


def _type(node: ast.expr) -> tuple[str, int | None]:
    """("String", 255) of `sa.String(255)`, ("Integer", None) of `sa.Integer` or `sa.Integer()`."""
    call = node if isinstance(node, ast.Call) else None
    target = call.func if call else node
    kind = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
    length = _literal(call.args[0]) if call and call.args else None
    return kind, length if isinstance(length, int) else None


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except SyntaxError:
        return None  # not Python: the migration itself fails, as its own deploy shows


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _assignment(tree: ast.Module, name: str) -> ast.Assign | ast.AnnAssign | None:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node  # type: ignore[return-value]
    return None


def _assigned(tree: ast.Module, name: str) -> object:
    node = _assignment(tree, name)
    return _literal(node.value) if node is not None and node.value is not None else None


def _line_of(tree: ast.Module, name: str) -> int | None:
    node = _assignment(tree, name)
    return node.lineno if node is not None else None


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None
