"""Searching the values of unknowns for a wanted criterion status, within a budget of evaluations.

``search`` looks for a completion of the unknowns that gives a wanted status: first each unknown's
best value on its own, then all of them together, then the unknowns that take the same values with one
value each, then one value at a time from there. The search is
a heuristic: finding a completion proves that one exists; not finding one within its budget is
evidence, not proof, that none does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol, TypeVar

from rdflib import Graph

from kb.completion.status import INVALID, MET, RANK

DEFAULT_EVALUATIONS = 80

Evaluate = Callable[[Graph], str]
Seen = dict[frozenset[tuple[Any, Any]], str]


class Completable(Hashable, Protocol):
    """A fact the case leaves undocumented, with the values it may take."""

    @property
    def values(self) -> tuple[Any, ...]: ...


U = TypeVar("U", bound=Completable)
Apply = Callable[[Graph, dict[U, Any]], Graph]


class Budget:
    """A number of evaluations and a deadline (monotonic seconds), whichever comes first."""

    def __init__(self, evaluations: int, seconds: float = math.inf) -> None:
        self.left = evaluations
        self.deadline = time.monotonic() + seconds

    def spend(self) -> bool:
        if self.exhausted:
            return False
        self.left -= 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.left <= 0 or time.monotonic() > self.deadline


def search(
    case: Graph,
    found: Sequence[U],
    target: str,
    evaluate: Evaluate,
    apply: Apply[U],
    budget: Budget | None = None,
    seen: Seen | None = None,
) -> tuple[str, dict[U, Any]]:
    """Look for values of ``found`` that give ``target``; the best status reached and its values.

    ``apply`` makes the completed case from the values. ``seen`` keeps the statuses of completions
    already evaluated (shared by the two searches of a pend): they are not evaluated again and do not
    count against the budget (by default ``DEFAULT_EVALUATIONS`` evaluations).
    """
    spend = budget if budget is not None else Budget(DEFAULT_EVALUATIONS)
    known: Seen = {} if seen is None else seen

    def better(a: str, b: str) -> bool:
        return RANK[a] > RANK[b] if target == MET else RANK[a] < RANK[b]

    def run(assignment: dict[U, Any], force: bool = False) -> str | None:
        key = frozenset(assignment.items())
        if key not in known:
            if force:
                spend.left -= 1
            elif not spend.spend():
                return None
            known[key] = evaluate(apply(case, assignment))
        return known[key]

    best: dict[U, Any] = {}
    first = run(best)
    if first is None:
        return INVALID, best
    best_status = first
    if best_status not in RANK or best_status == target:
        return best_status, best
    # Each unknown on its own: its value that moves the status furthest toward the target (ties: the
    # first value that does not move it away).
    chosen: dict[U, Any] = {}
    for unknown in found:
        pick: tuple[str, Any] | None = None
        for value in unknown.values:
            status = run({unknown: value})
            if status is None:
                break
            if status not in RANK:
                continue
            if status == target:
                return status, {unknown: value}
            if pick is None or better(status, pick[0]):
                pick = (status, value)
        if pick is not None and not better(best_status, pick[0]):
            chosen[unknown] = pick[1]
    if chosen:
        status = run(chosen, force=True)
        if status is not None and status in RANK and not better(best_status, status):
            best, best_status = dict(chosen), status
    # Unknowns that take the same values (findings present or absent) with one value each, together: a
    # criterion that needs all of them absent moves only when all are.
    alike: dict[tuple[Any, ...], list[U]] = {}
    for unknown in found:
        alike.setdefault(unknown.values, []).append(unknown)
    for values, group in alike.items():
        if len(group) < 2:
            continue
        for value in values:
            for base in ({}, best) if best else ({},):
                if best_status == target or spend.exhausted:
                    return best_status, best
                trial = {**base, **{unknown: value for unknown in group}}
                status = run(trial)
                if status is not None and status in RANK and better(status, best_status):
                    best, best_status = trial, status
    # One value at a time from there.
    for _ in range(2):
        improved = False
        for unknown in found:
            for value in unknown.values:
                if best_status == target or spend.exhausted:
                    return best_status, best
                if best.get(unknown) == value:
                    continue
                trial = {**best, unknown: value}
                status = run(trial)
                if status is not None and status in RANK and better(status, best_status):
                    best, best_status, improved = trial, status, True
        if not improved:
            break
    return best_status, best
