"""`eb_tools diff SRC DST` and `eb_tools diff STAGE`: how two stages differ, and how a stage differs from what
its stage file and templates say it should be.

Two stages: every option someone chose (EB's defaults set aside), property, environmentsecret, platform,
label, and of the running bundle the lock's digest, the schema revision its code expects and cron.yaml's
tasks, per tier. A difference is explained
when each side's value is exactly what `provision` would set for that stage (stage/desired.py), or is unset
where provision sets nothing: sizes, names, endpoints, ARNs and scheduled actions that differ because the
stage file or the stacks' outputs do. Anything else is
unexplained: someone changed it by hand, or it never came from the stage file.

One stage: each option against what provision sets, else what the running bundle's .ebextensions set,
else EB's default; and CloudFormation's drift detection of the stage's stacks (drift.py).

Values of properties and options whose names say secret (a password, token, key) are never shown, in text
or JSON; environmentsecrets hold ARNs only, which are shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eb_tools.release import drift, stage_view
from eb_tools.release.difference import Difference
from eb_tools.release.stage_view import Key, StageView
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget

SETTINGS = ("option", "property", "secret")
# What a promote carries from SRC to DST (the label and its bundle), or warns of already (the platform, by
# fingerprint.py): the promote plan leaves these out of the diff's lines.
CARRIED = ("version", "bundle", "cron", "platform")


@dataclass
class Report:
    stages: list[str]  # [SRC, DST], or [STAGE]
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what drift detection checked

    @property
    def columns(self) -> tuple[str, str]:
        """The values' columns in text: the two stages' names, or what runs and what is expected."""
        return (self.stages[0], self.stages[1]) if len(self.stages) == 2 else ("runs", "expected")

    @property
    def keys(self) -> tuple[str, str]:
        """The values' keys in JSON: fixed, whatever the stages are called (`stages` names them)."""
        return ("source", "destination") if len(self.stages) == 2 else ("runs", "expected")

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if not d.explained]

    @property
    def explained(self) -> list[Difference]:
        return [d for d in self.differences if d.explained]

    def as_dict(self) -> dict[str, Any]:
        return {"stages": self.stages, "unexplained": [d.as_dict(*self.keys) for d in self.unexplained],
                "explained": [d.as_dict(*self.keys) for d in self.explained], "notes": self.notes}

    def lines(self) -> list[str]:
        """The report as text: a heading, then a table of each group."""
        found = [f"diff {' '.join(self.stages)}: {len(self.unexplained)} unexplained, "
                 f"{len(self.explained)} explained by the stage file"]
        header = ("tier", "kind", "name", *self.columns, *(("expected from",) if len(self.stages) == 1 else ()))
        for title, group in (("unexplained", self.unexplained), ("explained by the stage file", self.explained)):
            if group:
                rows = [(d.tier, d.kind, d.name, d.shown(d.left), d.shown(d.right),
                         *((d.why,) if len(self.stages) == 1 else ())) for d in group]
                found += ["", f"{title}:", *(f"  {row}" for row in table(rows, header))]
        return found + (["", "drift detection:", *(f"  {note}" for note in self.notes)] if self.notes else [])


def stages(source: StageTarget, destination: StageTarget) -> Report:
    """SRC against DST, each read under its own credentials."""
    views = []
    for where in (source, destination):
        with where.naming_errors():
            views.append(stage_view.read(where.verify()))
    return Report([source.name, destination.name], compare(*views))


def stage(where: StageTarget) -> Report:
    """One stage against its stage file, templates and running bundle."""
    with where.naming_errors():
        view = stage_view.read(where.verify())
        drifted, notes = drift.detect(where)
    return Report([where.name], against(view) + drifted, notes)


def compare(source: StageView, destination: StageView) -> list[Difference]:
    """Where the two views differ, each difference explained or not (see the module docstring)."""
    found = []
    keys = source.runs.keys() | destination.runs.keys() | source.desired.keys() | destination.desired.keys()
    for key in sorted(keys):
        left, right = source.runs.get(key), destination.runs.get(key)
        if left == right or not (source.chosen(key) or destination.chosen(key)):
            continue
        explained = _as_provisioned(source, key, left) and _as_provisioned(destination, key, right)
        found.append(Difference(*key, left, right, explained))
    return found


def _as_provisioned(view: StageView, key: Key, value: str | None) -> bool:
    """Whether the stage runs what provision sets for it: that value, or nothing where provision sets nothing
    (the other stage's stage file explains its side: a schedule's scheduled actions, a domain's listener)."""
    return view.desired[key] == value if key in view.desired else value is None


def against(view: StageView) -> list[Difference]:
    """Where the stage's settings differ from provision's, else the bundle's, else EB's defaults."""
    found = []
    chosen = {key for key in view.runs if key[1] in SETTINGS and view.chosen(key)}
    for key in sorted(chosen | view.desired.keys() | view.bundle.keys()):
        expected, why = _expected(view, key)
        actual = view.runs.get(key)
        if (actual or None) != (expected or None):
            found.append(Difference(*key, actual, expected, False, why))
    return found


def _expected(view: StageView, key: Key) -> tuple[str | None, str]:
    if key in view.desired:
        return view.desired[key], "provision"
    if key in view.bundle:
        return view.bundle[key], "the bundle's .ebextensions"
    if key in view.defaults:
        return view.defaults[key], "EB's default"
    return None, "nothing sets it"


def warnings(source: StageTarget, destination: StageTarget) -> list[str]:
    """The diff's unexplained lines for a promote's plan, less what the promote carries or warns of already."""
    report = stages(source, destination)
    return [d.line(source.name, destination.name) for d in report.unexplained if d.kind not in CARRIED]
