"""Alembic migration scripts, read statically (ast): nothing is imported or run.

Each script's revision, the one it revises, the expand step it completes (`contract_of`, this toolkit's
module-level marker of an expand/contract pair's contract step) and what its `upgrade()` does that the code
running before it cannot survive: drop or rename a column or table, add a NOT NULL column without a server
default, narrow a column's type. `check` turns these into findings; `deploy` and `rollback` compare what a
label's code expects with what the stage's database already has.
"""
from __future__ import annotations

import ast
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

DROPS = {"drop_column": "drops column", "drop_table": "drops table", "rename_table": "renames table"}
NARROWER = {("Text", "String"), ("BigInteger", "Integer"), ("BigInteger", "SmallInteger"), ("Integer", "SmallInteger")}


@dataclass(frozen=True)
class Breaking:
    """An operation of `upgrade()` that breaks the code running before it."""

    line: int
    kind: str  # drop (or rename) | not_null | narrow
    what: str  # "drops column users.email", as a message says it


@dataclass(frozen=True)
class Migration:
    path: str
    revision: str
    down_revision: str | None
    contract_of: str | None  # the expand step's revision, for a contract step
    contract_line: int | None
    breaking: tuple[Breaking, ...]


def is_script(name: str) -> bool:
    """Where Alembic keeps revision scripts: a `versions/` folder."""
    return "/versions/" in f"/{name}" and name.endswith(".py")


def read(files: Mapping[str, str]) -> list[Migration]:
    """The migrations among `files` ({path: text}), by path; a file that is not Python, or has no `revision`
    and `upgrade()`, is none (its own deploy shows what is wrong with it)."""
    found = []
    for path, text in sorted(files.items()):
        tree = _parse(text) if is_script(path) else None
        upgrade = _function(tree, "upgrade") if tree is not None else None
        revision = _assigned(tree, "revision") if tree is not None else None
        if tree is None or upgrade is None or revision is None:
            continue
        down, contract = _assigned(tree, "down_revision"), _assigned(tree, "contract_of")
        found.append(Migration(path, str(revision), None if down is None else str(down),
                               None if contract is None else str(contract), _line_of(tree, "contract_of"),
                               tuple(_breaking(upgrade))))
    return found


def problems(files: Mapping[str, str]) -> list[tuple[str, int | None, str]]:
    """(path, line, what) of each script among `files` that Alembic could not load as a migration: one that is
    not Python, or lacks `revision` or `upgrade()`. The predeploy hook would fail on it on every instance."""
    found: list[tuple[str, int | None, str]] = []
    for path, text in sorted(files.items()):
        if not is_script(path) or path.rsplit("/", 1)[-1].startswith("__"):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError as error:
            found.append((path, error.lineno, f"does not parse: {error.msg}"))
            continue
        missing = [what for what, present in (("revision = ...", _assigned(tree, "revision") is not None),
                                               ("def upgrade()", _function(tree, "upgrade") is not None))
                   if not present]
        if missing:
            found.append((path, None, f"has no {' and no '.join(missing)}: Alembic cannot load it"))
    return found


def read_bundle(data: bytes) -> list[Migration]:
    """The migrations of a source bundle (zip bytes)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return read({name: archive.read(name).decode("utf-8", errors="replace")
                     for name in archive.namelist() if is_script(name)})


def head(migrations: list[Migration]) -> str | None:
    """The revision no other revises: what the code expects of the schema (several heads joined by '+')."""
    revised = {m.down_revision for m in migrations}
    heads = sorted(m.revision for m in migrations if m.revision not in revised)
    return "+".join(heads) or None


def _breaking(upgrade: ast.FunctionDef) -> Iterator[Breaking]:
    for call in (n for n in ast.walk(upgrade) if isinstance(n, ast.Call)):
        operation = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        args = [_literal(a) for a in call.args]
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if operation in DROPS:
            named = ".".join(str(a) for a in args[:2] if a is not None)
            yield Breaking(call.lineno, "drop", f"{DROPS[operation]} {named}")
        elif operation == "alter_column" and "new_column_name" in keywords:
            yield Breaking(call.lineno, "drop", f"renames column {'.'.join(map(str, args[:2]))} to "
                           f"{_literal(keywords['new_column_name'])}")
        elif operation == "add_column" and (column := _not_null_without_default(call)) is not None:
            yield Breaking(call.lineno, "not_null", f"adds NOT NULL column {column} without a server default")
        elif operation == "alter_column" and _narrows(keywords):
            yield Breaking(call.lineno, "narrow", f"narrows {'.'.join(map(str, args[:2]))} from "
                           f"{ast.unparse(keywords['existing_type'])} to {ast.unparse(keywords['type_'])}")


def _not_null_without_default(call: ast.Call) -> str | None:
    """The column's name when `op.add_column(table, sa.Column(...))` adds it NOT NULL with no server default."""
    column = next((a for a in call.args if isinstance(a, ast.Call)), None)
    if column is None:
        return None
    keywords = {k.arg: k.value for k in column.keywords if k.arg}
    not_null = _literal(keywords["nullable"]) is False if "nullable" in keywords else False
    if not not_null or "server_default" in keywords:
        return None
    return str(_literal(column.args[0])) if column.args else "?"


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
        return None


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
