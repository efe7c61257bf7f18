"""A criterion's status for a case, deciding only its own shape (the others do not change its status):
one evaluation costs a form check, the enrichment and one shape.

Prior procedures dated to the month or year are read as the engine reads them
(``kb/pipeline/partialdates.py``): the case is decided with every such date at the first and at the
last day of its interval, and a criterion whose status differs at the two ends is not documented.
"""

from __future__ import annotations

from rdflib import RDF, Graph, URIRef

import kb.engine  # noqa: F401  (registers the guideline hooks the enrichment runs)
from kb.errors import KnowledgeGraphError
from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP, SH
from kb.pipeline import partialdates
from kb.pipeline.caseform import check_case_form
from kb.pipeline.enrichment import enrich
from kb.pipeline.validation import PreparedQueryGraph, run_shacl

MET = "met"
NOT_MET = "not-met"
NOT_DOCUMENTED = "not-documented"
NOT_APPLICABLE = "not-applicable"
INVALID = "invalid"
RANK = {NOT_MET: 0, NOT_DOCUMENTED: 1, MET: 2}


def copy_graph(case: Graph) -> Graph:
    result = Graph()
    for triple in case:
        result.add(triple)
    return result


def request_of(case: Graph) -> URIRef:
    request = next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    assert isinstance(request, URIRef)
    return request


def criterion_status(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, check_form: bool = False) -> str:
    """The criterion's status for the case: ``met``, ``not-met``, ``not-documented``, ``not-applicable``
    or ``invalid`` (the case fails the form checks: a date of onset after its assessment ...).

    The form checks cost more than the shape, so unless ``check_form`` asks for them first they run
    only when the criterion is decided (met or not met). Every completion or counterfactual reported is
    also decided in full before it is.
    """
    graph = copy_graph(case)
    try:
        request: URIRef = check_case_form(graph, knowledge, "<completion>") if check_form else request_of(graph)
    except KnowledgeGraphError:
        return INVALID
    partial = partialdates.partial_procedure_dates(graph, request)
    if not partial:
        status = _single_status(graph, request, knowledge, criterion)
    else:
        statuses = set()
        for latest in (False, True):
            pinned = partialdates.pinned(graph, partial, latest)
            try:
                pinned_request: URIRef = check_case_form(pinned, knowledge, "<completion>") if check_form else request_of(pinned)
            except KnowledgeGraphError:
                return INVALID
            statuses.add(_single_status(pinned, pinned_request, knowledge, criterion))
        if len(statuses) == 1:
            status = statuses.pop()
        else:
            status = INVALID if INVALID in statuses else NOT_APPLICABLE if statuses == {NOT_APPLICABLE} else NOT_DOCUMENTED
    if not check_form and status in (MET, NOT_MET):
        try:
            check_case_form(copy_graph(case), knowledge, "<completion>")
        except KnowledgeGraphError:
            return INVALID
    return status


def _single_status(graph: Graph, request: URIRef, knowledge: Knowledge, criterion: CriterionInfo) -> str:
    try:
        enriched = enrich(graph, request, knowledge, "<completion>")
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
