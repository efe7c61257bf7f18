"""Completions of a pend's missing items that decide it: the answers that would approve it, and those
that would deny it, each found by searching the items' values criterion by criterion and checked by
deciding the completed case in full. Where the search of single values and their best together stops
short, the values are accumulated one after another (``accumulate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from rdflib import Graph

from kb.completion.search import Budget, Evaluate, search
from kb.completion.status import INVALID, MET, NOT_DOCUMENTED, NOT_MET, RANK, criterion_status
from kb.engine import determine_graph
from kb.errors import KnowledgeGraphError
from kb.knowledge import CriterionInfo, Knowledge
from kb.pipeline.caseform import check_case_form
from kb.pipeline.determination import Determination
from kb.questionnaire.facts import Unknown, Value, apply
from kb.questionnaire.missing import MissingItem, missing_criteria
from kb.questionnaire.reads import named_terms

# The outcome a completion toward a criterion status aims at, and the status an outcome counts as.
OUTCOMES = {MET: "approved", NOT_MET: "denied"}
STATUS_OF = {"approved": MET, "denied": NOT_MET, "pended": NOT_DOCUMENTED}


@dataclass(frozen=True)
class Completion:
    values: dict[Unknown, Value]
    outcome: str


def decide(case: Graph, knowledge: Knowledge) -> str:
    try:
        return determine_graph(apply(case, {}), "<completion>", knowledge).outcome
    except KnowledgeGraphError:
        return "invalid"


def _well_formed(case: Graph, knowledge: Knowledge) -> bool:
    try:
        check_case_form(case, knowledge, "<completion>")
    except KnowledgeGraphError:
        return False
    return True


def accumulate(
    case: Graph,
    found: list[Unknown],
    target: str,
    evaluate: Evaluate,
    budget: Budget,
    start: dict[Unknown, Value],
    status: str,
) -> tuple[str, dict[Unknown, Value]]:
    """From ``start``, give the unknowns values one after another, keeping each value that leaves the
    status no further from ``target``: a criterion that needs several facts at once (a relief and how
    long it lasted, a site and its side) moves only when the last of them is given. Values come in the
    order ``unknowns`` gives them (those the criterion's conditions name first)."""

    best = dict(start)
    for unknown in found:
        if unknown in best:
            continue
        for value in unknown.values:
            if status == target or not budget.spend():
                return status, best
            trial = {**best, unknown: value}
            reached = evaluate(apply(case, trial))
            if reached in RANK and not _further(target, reached, status):
                best, status = trial, reached
                break
    return status, best


def _ordered(knowledge: Knowledge, criterion: CriterionInfo, own: list[Unknown]) -> list[Unknown]:
    """The facts the shape names itself (and findings) before those its derived facts are computed from."""
    named = named_terms(knowledge, criterion)
    return sorted(own, key=lambda u: u.prop not in named and u.kind is None)


def _further(target: str, new: str, old: str) -> bool:
    return RANK[new] < RANK[old] if target == MET else RANK[new] > RANK[old]


def complete(
    case: Graph, det: Determination, items: list[MissingItem], knowledge: Knowledge, target: str, budget: Budget
) -> Completion:
    """Values of the items that move every missing criterion toward ``target`` (met or not met), one
    criterion after another on the case completed so far; the outcome of the completed case.

    When the criteria reach their statuses but the decision does not follow (a clinical-review rule
    takes a request the criterion does not meet, ...), the items are accumulated once more, each value
    judged by the decision of the whole case."""
    values: dict[Unknown, Value] = {}
    criteria = missing_criteria(det, knowledge)
    for criterion in criteria:
        own = [item.unknown for item in items if criterion in item.criteria and item.unknown not in values]
        if not own:
            continue
        evaluate = partial(criterion_status, knowledge=knowledge, criterion=criterion)
        status, found = search(apply(case, values), own, target, evaluate, apply, budget)
        if status != target and status in RANK:
            # Every value kept must also pass the form checks (a tie says nothing about them).
            checked = partial(criterion_status, knowledge=knowledge, criterion=criterion, check_form=True)
            base = apply(case, values)
            start = checked(base)
            if start in RANK:
                reached, accumulated = accumulate(base, _ordered(knowledge, criterion, own), target, checked, budget, {}, start)
                if reached == target or (reached != status and not _further(target, reached, status)):
                    status, found = reached, accumulated
        if not _well_formed(apply(case, {**values, **found}), knowledge):
            continue  # values that only an undecided status accepted, and that the form checks refuse
        values.update(found)
        if target == NOT_MET and status == NOT_MET:
            break  # one criterion not met is enough for a denial
        if target == MET and status == MET and decide(apply(case, values), knowledge) == "approved":
            break  # one pathway met is enough
    outcome = decide(apply(case, values), knowledge)
    wanted = OUTCOMES[target]
    if outcome != wanted:
        asked = [(c, [i.unknown for i in items if c in i.criteria]) for c in criteria]
        ordered = list(dict.fromkeys(u for c, own in asked for u in _ordered(knowledge, c, own)))

        def decision(graph: Graph) -> str:
            return STATUS_OF.get(decide(graph, knowledge), INVALID)

        start = decision(apply(case, {}))
        if start in RANK:
            reached, accumulated = accumulate(case, ordered, target, decision, budget, {}, start)
            if reached == target:
                values, outcome = accumulated, wanted
    return Completion(values, outcome)


__all__ = ["MET", "NOT_MET", "Completion", "complete"]
