"""The one way a stage verb changes cloud state: provision, deploy, promote and rollback each describe
themselves as an `Operation`, and `carry_out` runs it, in this order (chalice's deployer model: a planner
that only reads, then an executor):

  1. verify: the credentials belong to the stage's account (`StageTarget.verify`), before anything is read;
  2. a dry run gives the plan (read-only) to the display-only executor, which renders it and stops;
  3. otherwise take the stage's release lock when the verb holds one (deploy, promote, rollback), and plan
     under it, so that no other release moves the stage between the plan and its execution;
  4. render the plan; refuse it when the verb's own check says so (a data store replaced), stop when it
     changes nothing, ask for confirmation when the verb asks;
  5. execute it (the verb's executor carries out and verifies its changes, and puts things back on failure);
  6. record the outcome in the stage's history when the verb keeps one.

A plan that is never executed is discarded (provision's prepared change sets). AWS's refusals and missing
credentials leave as one `EbToolsError` naming the stage; `cli.py` prints it.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from eb_tools.errors import EbToolsError
from eb_tools.stage import history, lock
from eb_tools.stage.target import StageTarget

Echo = Callable[[str], None]


class Plan(Protocol):
    @property
    def empty(self) -> bool:
        """Whether carrying the plan out would change nothing."""


P = TypeVar("P", bound=Plan)
R = TypeVar("R")


def _nothing(plan: object) -> None:
    """No check, no clean-up."""


@dataclass(frozen=True)
class Operation(Generic[P, R]):
    """One stage verb: how it plans, shows, checks and executes, and what the runner does around it."""

    where: StageTarget
    title: str  # "deploy v42": the lock's holder, and what the history records with the outcome's label
    plan: Callable[[bool], P]  # read-only; its argument says whether for a dry run (nothing may be prepared)
    render: Callable[[P, Echo], None]
    execute: Callable[[P], R]  # carries the plan out and verifies it; raises an EbToolsError on failure
    unchanged: Callable[[P], R]  # the result when nothing is executed: a dry run, an empty plan
    refuse: Callable[[P], None] = _nothing  # raises when the plan, once shown, must not go on
    discard: Callable[[P], None] = _nothing  # a plan that is not executed (dry run, refused, unconfirmed)
    lock_seconds: float | None = None  # hold the stage's release lock this long; None: the verb takes none
    history: Callable[[P], history.Release] | None = None  # what the stage's history records
    empty_note: str | None = None  # said of an empty plan, which is then not executed; None: execute anyway
    dry_run_note: str = "nothing changed"
    confirm: Callable[[str], bool] | None = None  # asked before executing; None: not asked


def carry_out(op: Operation[P, R], echo: Echo, *, dry_run: bool = False) -> R:
    """Run `op` (see the module docstring); what its executor returned, or `unchanged` of its plan."""
    with op.where.naming_errors():
        op.where.verify()
        if dry_run:
            return _display_only(op, echo)
        with _locked(op):
            return _apply(op, echo)


def _display_only(op: Operation[P, R], echo: Echo) -> R:
    """The display-only executor: the plan is shown, and nothing changes."""
    plan = op.plan(True)
    try:
        op.render(plan, echo)
        op.refuse(plan)
    finally:
        op.discard(plan)
    echo(f"stage {op.where.name}: {op.empty_note}" if op.empty_note is not None and plan.empty
         else f"dry run: {op.dry_run_note}")
    return op.unchanged(plan)


def _apply(op: Operation[P, R], echo: Echo) -> R:
    """The applying executor: plan under the lock, show, check, confirm, execute, record."""
    plan = op.plan(False)
    try:
        op.render(plan, echo)
        op.refuse(plan)
        if op.empty_note is not None and plan.empty:
            op.discard(plan)
            echo(f"stage {op.where.name}: {op.empty_note}")
            return op.unchanged(plan)
        if op.confirm is not None and not op.confirm(f"Apply these changes to stage {op.where.name}?"):
            raise EbToolsError("nothing changed: the plan was not confirmed (--yes skips the question)")
    except BaseException:
        op.discard(plan)
        raise
    result = op.execute(plan)
    if op.history is not None:
        history.record(op.where, op.history(plan))
    return result


def _locked(op: Operation[P, R]) -> AbstractContextManager[None]:
    """The stage's release lock for the verbs that hold one; nothing for the others."""
    return lock.holding(op.where, op.title, op.lock_seconds) if op.lock_seconds is not None else nullcontext()
