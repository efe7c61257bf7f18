"""Searching the values of unknowns for a wanted criterion status, within a budget of evaluations.

``criterion_status`` validates one criterion's shape only (the others do not change its status), so
one evaluation costs a form check, the enrichment and one shape. ``search`` tries each unknown's
values on its own, then the best of each together, then one value at a time from there. Finding a
completion proves that one exists; not finding one within the budget proves nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rdflib import RDF, Graph, URIRef

from kb.errors import KnowledgeGraphError
from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP, SH
from kb.pipeline.caseform import check_case_form
from kb.pipeline.enrichment import enrich
from kb.pipeline.validation import PreparedQueryGraph, run_shacl
from kb.questionnaire.facts import Unknown, Value, apply, copy_graph, request_of

MET = "met"
NOT_MET = "not-met"
NOT_DOCUMENTED = "not-documented"
NOT_APPLICABLE = "not-applicable"
INVALID = "invalid"
RANK = {NOT_MET: 0, NOT_DOCUMENTED: 1, MET: 2}

Evaluate = Callable[[Graph], str]


class Budget:
    """A number of evaluations and a deadline (monotonic seconds), whichever comes first."""

    def __init__(self, evaluations: int, seconds: float) -> None:
        self.left = evaluations
        self.deadline = time.monotonic() + seconds

    def spend(self) -> bool:
        if self.left <= 0 or time.monotonic() > self.deadline:
            return False
        self.left -= 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.left <= 0 or time.monotonic() > self.deadline


def criterion_status(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, check_form: bool = False) -> str:
    """The criterion's status for the case, validating only its own shape.

    The form checks cost more than the shape, so unless asked for they run only when the criterion is
    decided (met or not met): a case that fails them (a date of onset after its assessment ...) is
    ``invalid``. Every completion or counterfactual reported is also decided in full before it is.
    """
    status = _status(case, knowledge, criterion, check_form)
    if not check_form and status in (MET, NOT_MET):
        try:
            check_case_form(copy_graph(case), knowledge, "<what-if>")
        except KnowledgeGraphError:
            return INVALID
    return status


def _status(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, check_form: bool) -> str:
    graph = copy_graph(case)
    try:
        request = check_case_form(graph, knowledge, "<what-if>") if check_form else request_of(graph)
        enriched = enrich(graph, request, knowledge, "<what-if>")
    except KnowledgeGraphError:
        return INVALID
    if not criterion.target_classes & set(graph.objects(request, RDF.type)):
        return NOT_APPLICABLE
    assert criterion.shape is not None
    data = PreparedQueryGraph()
    for triple in enriched.graph:
        data.add(triple)
    _, report = run_shacl(data, knowledge.shapes, knowledge.axioms, [criterion.shape])
    statuses = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if report.value(result, SH.focusNode) != request or report.value(result, SH.sourceShape) != criterion.shape:
            continue
        constraint = report.value(result, SH.sourceConstraint)
        statuses.add(knowledge.constraint_status.get(constraint) if isinstance(constraint, URIRef) else None)
    if not statuses:
        return MET
    return NOT_DOCUMENTED if statuses == {IP.NotDocumented} else NOT_MET


def search(
    case: Graph, found: list[Unknown], target: str, evaluate: Evaluate, budget: Budget
) -> tuple[str, dict[Unknown, Value]]:
    """Look for values of ``found`` that give ``target``; the best status reached and its values."""

    def better(a: str, b: str) -> bool:
        return RANK[a] > RANK[b] if target == MET else RANK[a] < RANK[b]

    def run(assignment: dict[Unknown, Value]) -> str | None:
        if not budget.spend():
            return None
        return evaluate(apply(case, assignment))

    best: dict[Unknown, Value] = {}
    first = run(best)
    if first is None or first not in RANK or first == target:
        return first or INVALID, best
    best_status = first
    chosen: dict[Unknown, Value] = {}
    for unknown in found:
        pick: tuple[str, Value] | None = None
        for value in unknown.values:
            status = run({unknown: value})
            if status is None:
                return best_status, best
            if status not in RANK:
                continue
            if status == target:
                return status, {unknown: value}
            if pick is None or better(status, pick[0]):
                pick = (status, value)
        if pick is not None and not better(best_status, pick[0]):
            chosen[unknown] = pick[1]
    if chosen:
        status = run(chosen)
        if status is not None and status in RANK and not better(best_status, status):
            best, best_status = dict(chosen), status
    for _ in range(2):
        improved = False
        for unknown in found:
            for value in unknown.values:
                if best_status == target or budget.exhausted:
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
