"""Completions of a pend's missing items that decide it: the answers that would approve it, and those
that would deny it, each found by searching the items' values criterion by criterion and checked by
deciding the completed case in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from rdflib import Graph

from kb.completion.search import Budget, search
from kb.completion.status import MET, NOT_MET, criterion_status
from kb.engine import determine_graph
from kb.errors import KnowledgeGraphError
from kb.knowledge import Knowledge
from kb.pipeline.caseform import check_case_form
from kb.pipeline.determination import Determination
from kb.questionnaire.facts import Unknown, Value, apply
from kb.questionnaire.missing import MissingItem, missing_criteria


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


def complete(
    case: Graph, det: Determination, items: list[MissingItem], knowledge: Knowledge, target: str, budget: Budget
) -> Completion:
    """Values of the items that move every missing criterion toward ``target`` (met or not met), one
    criterion after another on the case completed so far; the outcome of the completed case."""
    values: dict[Unknown, Value] = {}
    for criterion in missing_criteria(det, knowledge):
        own = [item.unknown for item in items if criterion in item.criteria and item.unknown not in values]
        if not own:
            continue
        evaluate = partial(criterion_status, knowledge=knowledge, criterion=criterion)
        status, found = search(apply(case, values), own, target, evaluate, apply, budget)
        if not _well_formed(apply(case, {**values, **found}), knowledge):
            continue  # values that only an undecided status accepted, and that the form checks refuse
        values.update(found)
        if target == NOT_MET and status == NOT_MET:
            break  # one criterion not met is enough for a denial
        if target == MET and status == MET and decide(apply(case, values), knowledge) == "approved":
            break  # one pathway met is enough
    return Completion(values, decide(apply(case, values), knowledge))


__all__ = ["MET", "NOT_MET", "Completion", "complete"]
