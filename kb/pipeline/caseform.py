"""Checks that a parsed case is well-formed before any criterion is evaluated.

These checks are about form (types, cardinalities, ranges, known codes, dates in order), never
about medical necessity. Every problem is collected and reported together, each naming the node,
the property and what is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.dates import EARLIEST_YEAR, LATEST_YEAR, date_interval
from kb.errors import CaseFormError
from kb.knowledge import Knowledge
from kb.namespaces import DET, IP, OWL, RDF, RDFS, SH, XSD
from kb.pipeline.validation import run_shacl
from kb.terms import is_iri

_PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property, OWL.FunctionalProperty)
_SH_NS, _IP_NS, _DET_NS = str(SH), str(IP), str(DET)
_RDF_TYPE, _OWL_IMPORTS = RDF.type, OWL.imports


_SHORT_PREFIXES = (("ip:", str(IP)), ("xsd:", "http://www.w3.org/2001/XMLSchema#"))


def short(node: Node) -> str:
    text = str(node)
    for prefix, namespace in _SHORT_PREFIXES:
        if text.startswith(namespace):
            return prefix + text[len(namespace) :]
    return text


def describe(graph: Graph, node: Node, max_hops: int = 8) -> str:
    """A name for a node that a requester can find in their case: its IRI, or for a blank node its
    type and where it hangs (e.g. ``the ip:ProcedureRecord under case:p1 ip:hasProcedureRecord``).
    A chain of blank nodes is followed at most ``max_hops`` steps, and never round a cycle."""
    steps: list[tuple[str, str]] = []  # (what the blank node is, the property it hangs from)
    seen: set[Node] = set()
    current: Node | None = node
    while isinstance(current, BNode):
        kind = graph.value(current, RDF.type)
        what = f"the {short(kind)}" if kind is not None else "a blank node"
        parent = next(iter(graph.subject_predicates(current)), None)
        seen.add(current)
        if parent is None or parent[0] in seen or len(seen) >= max_hops:
            text = what
            break
        steps.append((what, short(parent[1])))
        current = parent[0]
    else:
        text = short(current) if current is not None else "?"
    for what, via in reversed(steps):
        text = f"{what} under {text} {via}"
    return text


def check_case_form(case: Graph, knowledge: Knowledge, source: str, *, form_shapes_conform: bool = False) -> URIRef:
    """Raise CaseFormError listing every problem; return the request node when the case is valid.

    ``form_shapes_conform``: the caller has established that the case conforms to every case-form
    shape (the batch engine screens a whole chunk at once, ``kb.batch.formscreen``), so pySHACL is
    not run for them; every other check runs as always.
    """
    problems = list(_vocabulary_problems(case, knowledge))
    requests = sorted(case.subjects(RDF.type, IP.PriorAuthorizationRequest), key=str)
    if len(requests) != 1:
        problems.append(f"a case holds exactly one ip:PriorAuthorizationRequest; found {len(requests)}")
    if problems:
        raise CaseFormError(source, problems)
    if not form_shapes_conform:
        problems.extend(_shape_problems(case, knowledge))
    request = requests[0]
    if not isinstance(request, URIRef):
        problems.append("the ip:PriorAuthorizationRequest must have an IRI, not a blank node")
    problems.extend(_reference_problems(case, knowledge))
    if problems:
        raise CaseFormError(source, problems)
    assert isinstance(request, URIRef)
    return request


@dataclass(frozen=True)
class _Vocabulary:
    """What the form check needs to know of the ontology's terms, read once per loaded knowledge."""

    derived: frozenset[Node]
    engine: frozenset[Node]
    literal_valued: frozenset[Node]
    node_valued: frozenset[Node]
    properties: frozenset[Node]  # typed as a property (any of _PROPERTY_TYPES) in the ontology


_VOCABULARIES: dict[int, tuple[Knowledge, _Vocabulary]] = {}


def _vocabulary(knowledge: Knowledge) -> _Vocabulary:
    cached = _VOCABULARIES.get(id(knowledge))
    if cached is not None and cached[0] is knowledge:
        return cached[1]
    ont = knowledge.ontology
    vocabulary = _Vocabulary(
        derived=frozenset(ont.subjects(IP.derivedBy, None)),
        engine=frozenset(_engine_terms(ont)),
        literal_valued=frozenset(ont.subjects(RDF.type, OWL.DatatypeProperty)),
        node_valued=frozenset(ont.subjects(RDF.type, OWL.ObjectProperty)),
        properties=frozenset(p for t in _PROPERTY_TYPES for p in ont.subjects(RDF.type, t)),
    )
    _VOCABULARIES[id(knowledge)] = (knowledge, vocabulary)
    return vocabulary


def _vocabulary_problems(case: Graph, knowledge: Knowledge) -> Iterable[str]:
    vocabulary = _vocabulary(knowledge)
    derived, engine, properties = vocabulary.derived, vocabulary.engine, vocabulary.properties
    literal_valued, node_valued = vocabulary.literal_valued, vocabulary.node_valued
    seen: set[Node] = set()
    for s, p, o in case:
        # Every rdflib term is a str; the checks below read it as one without copying it.
        p_text, o_text = cast(str, p), cast(str, o)
        is_type = is_iri(p, _RDF_TYPE)
        if p_text.startswith(_SH_NS) or (is_type and o_text.startswith(_SH_NS)):
            if p not in seen:
                seen.add(p)
                yield f"SHACL terms ({short(p) if not is_type else short(o)}) are not accepted in case data"
            continue
        if is_iri(p, _OWL_IMPORTS):
            yield f"owl:imports {o} is not accepted in case data (nothing is ever fetched)"
            continue
        if isinstance(s, URIRef) and s.startswith(_IP_NS):
            if s not in seen:
                seen.add(s)
                yield f"case data must not make statements about ontology term {short(s)}"
            continue
        if isinstance(s, URIRef) and s.startswith(_DET_NS):
            if s not in seen:
                seen.add(s)
                yield f"{s} is a determination IRI; the engine alone names determinations"
            continue
        if is_type and o in engine:
            yield f"{describe(case, s)} is typed {short(o)}: a case cannot state determination records"
            continue
        if p in engine:
            if p not in seen:
                seen.add(p)
                yield f"{describe(case, s)} {short(p)}: determination vocabulary is written by the engine, not by a case"
            continue
        if p_text.startswith(_IP_NS) and p not in seen:
            if p in derived:
                seen.add(p)
                yield f"{short(p)} is computed by the engine and must not be supplied in case data"
                continue
            if p not in properties:
                seen.add(p)
                yield f"unknown property {short(p)}: it is not in the ontology"
                continue
        problem = _value_problem(p, o, literal_valued, node_valued)
        if problem is not None:
            yield f"{describe(case, s)} {short(p)}: {problem}"


def _engine_terms(ont: Graph) -> set[Node]:
    """The terms marked ip:recordedByEngine, every subclass of a marked class, and every property
    whose domain is one of those classes (a property of determinations is never case data)."""
    marked = set(ont.subjects(IP.recordedByEngine, Literal(True)))
    result = set(marked)
    for cls in marked:
        result.update(sub for sub in ont.transitive_subjects(RDFS.subClassOf, cls) if sub is not None)
    classes = {term for term in result if (term, RDF.type, OWL.Class) in ont}
    result.update(prop for prop, domain in ont.subject_objects(RDFS.domain) if domain in classes)
    return result


def _value_problem(prop: Node, value: Node, literal_valued: frozenset[Node], node_valued: frozenset[Node]) -> str | None:
    """What is wrong with one value, whatever its property: an ill-typed literal, a literal where the
    ontology wants a node or the reverse, or a date outside the accepted years."""
    if isinstance(value, Literal):
        if prop in node_valued:
            return f"must refer to a node (an IRI or a blank node), not the value {value!s}"
        python = value.toPython()
        if value.ill_typed or (isinstance(python, Decimal) and not python.is_finite()):
            # rdflib reads "NaN"^^xsd:decimal as Decimal("NaN"); xsd:decimal has no such value.
            return f"{str(value)!r} is not a valid {short(value.datatype) if value.datatype else 'value'}"
        if isinstance(python, dt.date) and not EARLIEST_YEAR <= python.year <= LATEST_YEAR:
            return f"the date {value!s} is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}"
        if value.datatype in (XSD.gYearMonth, XSD.gYear):
            # rdflib keeps these as plain literals: their form is checked here
            interval = date_interval(value)
            if interval is None:
                return f"{str(value)!r} is not a valid {short(value.datatype)}"
            if not EARLIEST_YEAR <= interval.earliest.year <= LATEST_YEAR:
                return f"the date {value!s} is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}"
        return None
    if prop in literal_valued:
        shown = "a blank node" if isinstance(value, BNode) else short(value)
        return f"must be a value (a literal such as a date, number or text), not a node ({shown})"
    return None


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

    for request in case.subjects(RDF.type, IP.PriorAuthorizationRequest):
        own = (request, IP.cptCode, None) in case
        lines = (request, IP.hasServiceLine, None) in case
        if own and lines:
            yield (
                f"{describe(case, request)}: a request gives either one ip:cptCode of its own or ip:hasServiceLine "
                "lines, not both; list its own code as one more line"
            )
        elif not own and not lines:
            yield (
                f"{describe(case, request)}: a request needs its codes: one ip:cptCode (a single line), or "
                "ip:hasServiceLine lines, each with one ip:cptCode"
            )
    for subject, code in case.subject_objects(IP.cptCode):
        known_code = isinstance(code, URIRef) and (code in knowledge.cpt_by_iri or code in knowledge.excluded_codes)
        if not known_code:
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
    for subject, value in case.subject_objects(IP.claimedPhase):
        if not known(value, IP.ReviewPhase) or value == IP.AnyPhase:
            yield f"{describe(case, subject)} ip:claimedPhase: unknown review phase {short(value)}"
    for subject, value in case.subject_objects(IP.requestedGuideline):
        if value not in knowledge.guidelines:
            yield f"{describe(case, subject)} ip:requestedGuideline: unknown guideline {short(value)}"
