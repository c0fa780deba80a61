"""Whether a label's code may run on the stage's database: the migrations it expects against those applied.

A label's code expects its bundle's migrations (eb_tools/formats/migrations.py), head included. The stage's
database has every migration of every label it ran: the predeploy hook runs them forward and never back, so a
rollback leaves the schema where the later release took it. Putting a label on the stage is refused (before
anything changes, unless --force) when
- the database has a migration the label's code predates that breaks it (a drop, a rename, a NOT NULL column
  without a default, a narrowed type), or a contract step whose expand step the label predates too;
- the label ships a contract step together with its expand step: the label a failed release is put back on
  would still use what the contract step removes.
Which labels the stage ran comes from its release history and from what its tiers run now.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from eb_tools.formats import migrations
from eb_tools.formats.migrations import Migration
from eb_tools.release import versions
from eb_tools.stage import history
from eb_tools.stage.target import StageTarget

FORCE = "--force puts it there anyway"


@dataclass(frozen=True)
class Verdict:
    label: str
    head: str | None  # the revision the label's code expects (its migrations' head)
    database: str | None  # the revision the stage's database is at, as far as the labels it ran tell
    after: str | None  # where the label's release leaves it (its predeploy hook migrates forward only)
    refusals: tuple[str, ...]


def judge(where: StageTarget, label: str, bundle: bytes | None, running: Iterable[str | None]) -> Verdict:
    """Read-only: the verdict on putting `label` (its `bundle`'s bytes; None: not readable) on `where`, whose
    tiers run the labels `running`."""
    expected = migrations.read_bundle(bundle) if bundle is not None else []
    applied = _Applied.read(where, [name for name in running if name], expected)
    refusals = [*_backwards(where.name, label, applied, {m.revision for m in expected}),
                *_forwards(label, applied, expected)]
    after = migrations.head([m for m, _ in applied.beyond.values()] + expected)
    return Verdict(label, migrations.head(expected), applied.head, after, tuple(refusals))


@dataclass(frozen=True)
class _Applied:
    """What the stage's database has: `beyond`, {revision: (migration, the label that brought it)} for those the
    expected migrations lack, and `reached`, every revision (those it shares with the expected ones too)."""

    beyond: dict[str, tuple[Migration, str]]
    reached: frozenset[str]
    head: str | None

    @classmethod
    def read(cls, where: StageTarget, running: list[str], expected: list[Migration]) -> _Applied:
        """From each label the stage ran: a label whose recorded head the expected migrations hold brings its
        ancestors among them; the others' bundles are read."""
        entries = history.read(where)
        recorded = {e["label"]: e.get("schema") for e in entries}
        down = {m.revision: m.down_revision for m in expected}
        beyond: dict[str, tuple[Migration, str]] = {}
        reached: set[str] = set()
        for name in dict.fromkeys([*(e["label"] for e in entries), *running]):
            head = recorded.get(name)
            if head is not None and set(head.split("+")) <= set(down):
                reached |= {r for tip in head.split("+") for r in _ancestry(tip, down)}
                continue
            data = versions.bundle_of(where, name)
            for migration in migrations.read_bundle(data) if data is not None else []:
                reached.add(migration.revision)
                if migration.revision not in down:
                    beyond.setdefault(migration.revision, (migration, name))
        everything = [m for m, _ in beyond.values()] + [m for m in expected if m.revision in reached]
        return cls(beyond, frozenset(reached), migrations.head(everything))


def _ancestry(revision: str | None, down: dict[str, str | None]) -> list[str]:
    """`revision` and every revision before it, through `down` ({revision: the one it revises})."""
    found = []
    while revision is not None and revision in down and revision not in found:
        found.append(revision)
        revision = down[revision]
    return found


def _backwards(stage: str, label: str, applied: _Applied, known: set[str]) -> list[str]:
    refusals = []
    for _revision, (migration, source) in sorted(applied.beyond.items()):
        if migration.contract_of is not None and migration.contract_of not in known:
            refusals.append(f"{label}'s code predates {migration.contract_of}, the expand step that contract "
                            f"migration {migration.path} (from {source}, applied on stage {stage}) completes")
        elif migration.contract_of is None and migration.breaking:
            breaking = migration.breaking[0]
            refusals.append(f"{label}'s code predates migration {migration.path} (from {source}, applied on stage "
                            f"{stage}), whose upgrade() {breaking.what} (line {breaking.line})")
    return refusals


def _forwards(label: str, applied: _Applied, expected: list[Migration]) -> list[str]:
    if not applied.reached:  # a new database: no earlier code to break
        return []
    new = {m.revision for m in expected if m.revision not in applied.reached}
    return [f"{label} ships contract migration {m.path} with its expand step {m.contract_of}: the label a failed "
            f"release goes back to still uses what it removes; ship {m.contract_of} in an earlier release"
            for m in expected if m.revision in new and m.contract_of in new]


def lines(verdict: Verdict, forced: bool) -> list[str]:
    """What the plan shows of the verdict."""
    shown = [f"  schema: {verdict.label}'s code expects {verdict.head or 'no migrations'}; the database has "
             f"{verdict.database or 'none that eb_tools recorded'}"]
    return shown + [f"  {'FORCED' if forced else 'REFUSED'}: {refusal}" for refusal in verdict.refusals]


def refuse(verdict: Verdict, forced: bool, error: Callable[[str], Exception]) -> None:
    """Raise `error` of the first refusal, unless forced."""
    if verdict.refusals and not forced:
        more = f" (and {len(verdict.refusals) - 1} more, listed above)" if len(verdict.refusals) > 1 else ""
        raise error(f"{verdict.refusals[0]}{more}; {FORCE}")
