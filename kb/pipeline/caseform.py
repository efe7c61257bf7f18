"""Checks that a parsed case is well-formed before any criterion is evaluated.

These checks are about form (types, cardinalities, ranges, known codes, dates in order), never
about medical necessity. Every problem is collected and reported together, each naming the node,
the property and what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import OWL, RDF, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.errors import CaseFormError
from kb.knowledge import Knowledge
from kb.namespaces import IP, SH
from kb.pipeline.validation import run_shacl

_PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property, OWL.FunctionalProperty)


def short(node: Node) -> str:
    text = str(node)
    if text.startswith(str(IP)):
        return "ip:" + text[len(str(IP)) :]
    return text


def describe(graph: Graph, node: Node) -> str:
    """A name for a node that a requester can find in their case: its IRI, or for a blank node its
    type and where it hangs (e.g. ``the ip:ProcedureRecord under case:p1 ip:hasProcedureRecord``)."""
    if not isinstance(node, BNode):
        return short(node)
    kind = graph.value(node, RDF.type)
    label = f"the {short(kind)}" if kind is not None else "a blank node"
    parent = next(iter(graph.subject_predicates(node)), None)
    if parent is not None:
        label += f" under {describe(graph, parent[0])} {short(parent[1])}"
    return label


def check_case_form(case: Graph, knowledge: Knowledge, source: str) -> URIRef:
    """Raise CaseFormError listing every problem; return the request node when the case is valid."""
    problems = list(_vocabulary_problems(case, knowledge))
    requests = sorted(case.subjects(RDF.type, IP.PriorAuthorizationRequest), key=str)
    if len(requests) != 1:
        problems.append(f"a case holds exactly one ip:PriorAuthorizationRequest; found {len(requests)}")
    if problems:
        raise CaseFormError(source, problems)
    problems.extend(_shape_problems(case, knowledge))
    request = requests[0]
    if not isinstance(request, URIRef):
        problems.append("the ip:PriorAuthorizationRequest must have an IRI, not a blank node")
    problems.extend(_reference_problems(case, knowledge))
    if problems:
        raise CaseFormError(source, problems)
    assert isinstance(request, URIRef)
    return request


def _vocabulary_problems(case: Graph, knowledge: Knowledge) -> Iterable[str]:
    ont = knowledge.ontology
    derived = {s for s in ont.subjects(IP.derivedBy, None)}
    seen: set[Node] = set()
    for s, p, o in case:
        if str(p).startswith(str(SH)) or (p == RDF.type and str(o).startswith(str(SH))):
            if p not in seen:
                seen.add(p)
                yield f"SHACL terms ({short(p) if p != RDF.type else short(o)}) are not accepted in case data"
            continue
        if p == OWL.imports:
            yield f"owl:imports {o} is not accepted in case data (nothing is ever fetched)"
            continue
        if isinstance(s, URIRef) and str(s).startswith(str(IP)):
            if s not in seen:
                seen.add(s)
                yield f"case data must not make statements about ontology term {short(s)}"
            continue
        if str(p).startswith(str(IP)) and p not in seen:
            if p in derived:
                seen.add(p)
                yield f"{short(p)} is computed by the engine and must not be supplied in case data"
            elif not any((p, RDF.type, t) in ont for t in _PROPERTY_TYPES):
                seen.add(p)
                yield f"unknown property {short(p)}: it is not in the ontology"


def _shape_problems(case: Graph, knowledge: Knowledge) -> list[str]:
    conforms, report = run_shacl(case, knowledge.form_shapes, None)
    if conforms:
        return []
    problems = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        message = report.value(result, SH.resultMessage)
        where = describe(case, focus) if focus is not None else "?"
        if path is not None:
            where += f" {short(path)}"
        text = f"{where}: {message}"
        if value is not None and value != focus:
            shown = value if isinstance(value, Literal) else short(value)
            text += f" (found {shown!s})"
        problems.append(text)
    return sorted(set(problems))


def _reference_problems(case: Graph, knowledge: Knowledge) -> Iterable[str]:
    def known(node: Node, cls: URIRef) -> bool:
        return isinstance(node, URIRef) and cls in knowledge.individual_types.get(node, frozenset())

    for subject, code in case.subject_objects(IP.cptCode):
        info = knowledge.cpt_by_iri.get(code) if isinstance(code, URIRef) else None
        if info is None:
            where = describe(case, subject)
            yield f"{where} ip:cptCode: unknown CPT code {short(code)}; the guidelines list no such code"
    for subject, kind in case.subject_objects(IP.procedureKind):
        if not isinstance(kind, URIRef) or IP.Procedure not in knowledge.classes_with_superclasses({kind}) - {kind}:
            yield f"{describe(case, subject)} ip:procedureKind: unknown procedure class {short(kind)} (e.g. ip:MedialBranchBlock)"
    for subject, value in case.subject_objects(IP.conditionType):
        if not known(value, IP.ConditionType):
            yield f"{describe(case, subject)} ip:conditionType: unknown condition type {short(value)}"
    for subject, value in case.subject_objects(IP.findingType):
        if not known(value, IP.FindingType):
            yield f"{describe(case, subject)} ip:findingType: unknown finding type {short(value)}"
    for subject, value in case.subject_objects(IP.justifiesCriterion):
        if value not in knowledge.criteria:
            yield f"{describe(case, subject)} ip:justifiesCriterion: unknown criterion {short(value)}"
    for subject, value in case.subject_objects(IP.claimedIndication):
        if not isinstance(value, URIRef) or knowledge.pathway(value) is None:
            yield f"{describe(case, subject)} ip:claimedIndication: unknown indication pathway {short(value)}"
    for subject, value in case.subject_objects(IP.requestedGuideline):
        if value not in knowledge.guidelines:
            yield f"{describe(case, subject)} ip:requestedGuideline: unknown guideline {short(value)}"
