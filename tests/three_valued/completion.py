"""Completions of the facts a case leaves undocumented, for the safety net of the three-valued rule.

A criterion's shape names the vocabulary it reads (the ``ip:`` terms of its SPARQL constraints). An
*unknown* is a fact the criterion reads that the case does not record:

- an attribute of a recorded node (a therapy episode without ``ip:failedToRespond``, a pain
  assessment without ``ip:painScore`` ...), whose candidate values come from the property's range
  (booleans, the controlled values of its class, dates before the date of service, numbers from
  ``completion-values.toml``);
- a condition or finding of a type the criterion names that the case does not record at all, which
  may turn out present or documented absent.

``search`` looks for a completion of the unknowns that gives a wanted status: first each unknown's
best value on its own, then all of them together, then one value at a time from there. The search is
a heuristic: finding a completion proves that one exists; not finding one within its budget is
evidence, not proof, that none does.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

import kb.engine  # noqa: F401  (registers the guideline hooks the enrichment runs)
from kb.errors import KnowledgeGraphError
from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP, SH
from kb.pipeline.caseform import check_case_form
from kb.pipeline.enrichment import enrich
from kb.pipeline.validation import PreparedQueryGraph, run_shacl

VALUES_FILE = Path(__file__).with_name("completion-values.toml")
KB_DIR = Path(__file__).resolve().parents[2] / "kb"
NAMESPACES = {"ip": IP, "xsd": URIRef("http://www.w3.org/2001/XMLSchema#")}
RANK = {"not-met": 0, "not-documented": 1, "met": 2}
NOT_APPLICABLE = "not-applicable"
INVALID = "invalid"
# The conditions a case records are the patient's diagnoses (a diagnosis not recorded is not held),
# so only findings (signs, tests, features) may be missing from a record.
KIND_LINKS = {
    IP.FindingType: (IP.ClinicalFinding, IP.findingType, IP.hasFinding),
}
MAX_VALUES = 8
MAX_KINDS_PER_CLASS = 4


@dataclass(frozen=True)
class Unknown:
    """An attribute ``prop`` of ``subject`` (a recorded node); with ``kind``, a fact of that type; with
    ``template``, a node linked by ``prop`` (the values are then the indices of the template's variants)."""

    subject: Node | None
    prop: URIRef
    values: tuple[Node, ...]
    kind: URIRef | None = None
    template: int | None = None

    def describe(self) -> str:
        if self.kind is not None:
            return f"a {_local(self.kind)} fact"
        if self.template is not None:
            return f"an {_local(self.prop)} record"
        return f"{_local(self.prop)} of {self.subject}"


Assignment = Mapping[Unknown, Node]


def _local(term: Node) -> str:
    return str(term).split("#")[-1]


@cache
def _settings() -> dict[str, object]:
    with VALUES_FILE.open("rb") as handle:
        return tomllib.load(handle)


def _term(text: str) -> URIRef:
    """A prefixed name of the values file (``ip:painScore``, ``xsd:integer``) as an IRI."""
    prefix, _, name = text.partition(":")
    return URIRef(str(NAMESPACES[prefix]) + name)


def _literal(text: str, datatype: URIRef) -> Literal:
    return Literal(text, datatype=datatype)


def shape_text(knowledge: Knowledge, criterion: CriterionInfo) -> str:
    texts = []
    for constraint in knowledge.shapes.objects(criterion.shape, SH.sparql):
        for prop in (SH.select, SH.ask):
            value = knowledge.shapes.value(constraint, prop)
            if value is not None:
                texts.append(str(value))
    return "\n".join(texts)


def terms_read(knowledge: Knowledge, criterion: CriterionInfo) -> set[URIRef]:
    """The terms the shape names, and the case terms its derived facts are computed from."""
    named = {URIRef(str(IP) + name) for name in re.findall(r"\bip:(\w+)", shape_text(knowledge, criterion))}
    sources = _derivation_sources(frozenset(knowledge.ontology.subjects(IP.derivedBy, None)))
    read = set(named)
    pending = [t for t in named if t in sources]
    while pending:
        term = pending.pop()
        for source in sources.get(term, ()):
            if source not in read:
                read.add(source)
                pending.append(source)
    return read


@cache
def _derivation_sources(derived: frozenset[Node]) -> dict[URIRef, frozenset[URIRef]]:
    """For each derived property, the terms read by the engine functions that compute it.

    A static reading of kb/**/*.py: every function that writes a derived property (``IP.x`` in its
    body) is taken to compute it from every other ``IP.y`` term its body names.
    """
    sources: dict[URIRef, set[URIRef]] = {}
    for path in sorted(KB_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = {
                URIRef(str(IP) + node.attr)
                for node in ast.walk(function)
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "IP"
            }
            for term in names & derived:
                assert isinstance(term, URIRef)
                sources.setdefault(term, set()).update(names - {term})
    return {k: frozenset(v) for k, v in sources.items()}


def _fixed() -> set[Node]:
    fixed = _settings()["fixed"]
    assert isinstance(fixed, list)
    return {_term(t) for t in fixed}


def _implied(prop: URIRef) -> list[URIRef]:
    """The properties whose value documents ``prop`` too (completion-values.toml, [implied])."""
    implied = _settings().get("implied", {})
    assert isinstance(implied, dict)
    return [_term(t) for t in implied.get(_n3(prop), [])]


def _candidates(knowledge: Knowledge, prop: URIRef, dos: dt.date) -> tuple[Node, ...]:
    ont = knowledge.ontology
    overrides = _settings()["property"]
    assert isinstance(overrides, dict)
    rng = ont.value(prop, RDFS.range)
    if _n3(prop) in overrides:
        datatype = rng if isinstance(rng, URIRef) else URIRef(str(NAMESPACES["xsd"]) + "integer")
        return tuple(_literal(v, datatype) for v in overrides[_n3(prop)])
    if not isinstance(rng, URIRef):
        return ()
    xsd = str(NAMESPACES["xsd"])
    if rng in (URIRef(xsd + "date"), IP.RecordedDate):  # a recorded date is completed to the day
        dates = _settings()["dates"]
        assert isinstance(dates, dict)
        day = URIRef(xsd + "date")
        return tuple(_literal((dos - dt.timedelta(days=d)).isoformat(), day) for d in dates["days_before"])
    if str(rng).startswith(xsd):
        by_type = _settings()["datatype"]
        assert isinstance(by_type, dict)
        return tuple(_literal(v, rng) for v in by_type.get(f"xsd:{_local_xsd(rng)}", []))
    members = sorted((i for i, classes in knowledge.individual_types.items() if rng in classes), key=str)
    if len(members) > MAX_VALUES:
        step = len(members) / MAX_VALUES
        members = [members[int(i * step)] for i in range(MAX_VALUES)]
    return tuple(members)


def _local_xsd(term: URIRef) -> str:
    return str(term).rsplit("#", 1)[-1]


def _n3(term: URIRef) -> str:
    return f"ip:{_local(term)}" if str(term).startswith(str(IP)) else term.n3()


def unknowns(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, further_records: bool = False) -> list[Unknown]:
    """The facts the criterion reads that the case does not record, with their candidate values.

    With ``further_records``, records that the case could add beside those it has (a later pain
    assessment) count too: they can complete a pend, but never undo what is documented.
    """
    ont = knowledge.ontology
    if not _ONTOLOGY:
        _ONTOLOGY.append(ont)
    read = terms_read(knowledge, criterion)
    fixed = _fixed()
    derived = set(ont.subjects(IP.derivedBy, None))
    request = next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    dos_literal = case.value(request, IP.dateOfService)
    dos = dos_literal.toPython() if isinstance(dos_literal, Literal) else None
    assert isinstance(dos, dt.date)
    found: list[Unknown] = []
    properties = sorted(
        (
            p
            for p in read
            if p not in fixed
            and p not in derived
            and ((p, RDF.type, OWL.DatatypeProperty) in ont or (p, RDF.type, OWL.ObjectProperty) in ont)
        ),
        key=str,
    )
    nodes = sorted({s for s in case.subjects(RDF.type, None)}, key=str)
    text = shape_text(knowledge, criterion)
    for prop in properties:
        values = _candidates(knowledge, prop, dos)
        if not values:
            continue
        domain = ont.value(prop, RDFS.domain)
        if not isinstance(domain, URIRef):
            # No declared domain: the request's own fact when the shape reads it as `$this ip:prop`.
            if re.search(rf"\$this\s+ip:{_local(prop)}\b", text) and case.value(request, prop) is None:
                found.append(Unknown(request, prop, values))
            continue
        for node in nodes:
            types = {t for t in case.objects(node, RDF.type) if isinstance(t, URIRef)}
            if (
                domain in knowledge.classes_with_superclasses(types)
                and case.value(node, prop) is None
                and not any(case.value(node, other) is not None for other in _implied(prop))
            ):
                found.append(Unknown(node, prop, values))
    templates = _settings()["template"]
    assert isinstance(templates, list)
    for index, template in enumerate(templates):
        link = _term(template["link"])
        recorded = any(True for _ in case.objects(None, link))
        if link in read and ((further_records and template.get("when") == "always") or not recorded):
            variants = tuple(Literal(i) for i in range(len(template["variants"])))
            found.append(Unknown(None, link, variants, template=index))
    for kind in _kinds_read(knowledge, read):
        kind_class = next(c for c in KIND_LINKS if c in knowledge.individual_types.get(kind, ()))
        _, kind_prop, _ = KIND_LINKS[kind_class]
        if any(True for _ in case.subjects(kind_prop, kind)) or _group_recorded_absent(case, knowledge, kind):
            continue
        found.append(Unknown(None, kind_prop, (Literal(True), Literal(False)), kind))
    return found


def _group_recorded_absent(case: Graph, knowledge: Knowledge, kind: URIRef) -> bool:
    """Whether the case records as absent the sign a listed sub-item counts as (ip:countsAsSign):
    "trophic changes: none" documents each listed trophic change (nail changes ...) as absent too."""
    for group in knowledge.ontology.objects(kind, IP.countsAsSign):
        if group == kind:
            continue
        for fact in case.subjects(IP.findingType, group):
            if (fact, IP.present, Literal(False)) in case or (fact, IP.testPositive, Literal(False)) in case:
                return True
    return False


def _kinds_read(knowledge: Knowledge, read: set[URIRef]) -> list[URIRef]:
    kinds: set[URIRef] = set()
    for term in read:
        classes = knowledge.individual_types.get(term, frozenset())
        if any(c in classes for c in KIND_LINKS):
            kinds.add(term)
            continue
        if (term, RDF.type, OWL.Class) in knowledge.ontology and any(
            c in knowledge.classes_with_superclasses({term}) for c in KIND_LINKS
        ):
            members = sorted((i for i, cs in knowledge.individual_types.items() if term in cs), key=str)
            kinds.update(members[:MAX_KINDS_PER_CLASS])
    return sorted(kinds, key=str)


def apply(case: Graph, assignment: Assignment) -> Graph:
    """A copy of the case with the unknowns given values (a new fact for a kind)."""
    result = Graph()
    for triple in case:
        result.add(triple)
    patient = next(iter(case.subjects(RDF.type, IP.Patient)))
    for unknown, value in assignment.items():
        if unknown.template is not None:
            _add_template(result, knowledge_ontology(), patient, unknown.template, int(value.toPython()))
            continue
        if unknown.kind is None:
            assert unknown.subject is not None
            result.add((unknown.subject, unknown.prop, value))
            continue
        kind_class = next(c for c in KIND_LINKS if c in _kind_classes(unknown))
        fact_class, kind_prop, link = KIND_LINKS[kind_class]
        fact = BNode()
        result.add((patient, link, fact))
        result.add((fact, RDF.type, fact_class))
        result.add((fact, kind_prop, unknown.kind))
        if value == Literal(False):
            result.add((fact, IP.present, Literal(False)))
    return result


_ONTOLOGY: list[Graph] = []


def knowledge_ontology() -> Graph:
    """The ontology graph (ranges of template values); set by ``unknowns``."""
    return _ONTOLOGY[0]


def _add_template(case: Graph, ontology: Graph, patient: Node, index: int, variant: int) -> None:
    templates = _settings()["template"]
    assert isinstance(templates, list)
    template = templates[index]
    request = next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    dos_literal = case.value(request, IP.dateOfService)
    assert isinstance(dos_literal, Literal)
    dos = dos_literal.toPython()
    node = BNode()
    case.add((patient, _term(template["link"]), node))
    case.add((node, RDF.type, _term(template["class"])))
    for key, text in template["variants"][variant].items():
        prop = _term(key)
        value: Node
        if text == "$region":
            value = case.value(request, IP.spinalRegion)  # type: ignore[assignment]
        elif text.startswith("$dos-"):
            value = Literal((dos - dt.timedelta(days=int(text[5:]))).isoformat(), datatype=NAMESPACES["xsd"] + "date")
        elif text.startswith("ip:"):
            value = _term(text)
        else:
            rng = ontology.value(prop, RDFS.range)
            value = Literal(text, datatype=rng if isinstance(rng, URIRef) else None)
        case.add((node, prop, value))


def _kind_classes(unknown: Unknown) -> set[URIRef]:
    return {IP.FindingType}


def criterion_status(case: Graph, knowledge: Knowledge, criterion: CriterionInfo) -> str:
    """The criterion's status for the case: only its own shape is validated (the others do not change it)."""
    graph = Graph()
    for triple in case:
        graph.add(triple)
    try:
        request = check_case_form(graph, knowledge, "<completion>")
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
        return "met"
    return "not-documented" if statuses == {IP.NotDocumented} else "not-met"


Evaluate = Callable[[Graph], str]


def search(
    case: Graph, found: list[Unknown], target: str, evaluate: Evaluate, budget: int = 80
) -> tuple[str, dict[Unknown, Node]]:
    """Look for a completion of ``found`` that gives ``target``; return the best status reached and its completion."""
    better = (lambda a, b: RANK[a] > RANK[b]) if target == "met" else (lambda a, b: RANK[a] < RANK[b])
    spent = 0

    def run(assignment: dict[Unknown, Node]) -> str:
        nonlocal spent
        spent += 1
        return evaluate(apply(case, assignment))

    best: dict[Unknown, Node] = {}
    best_status = run(best)
    if best_status not in RANK:
        return best_status, best
    if best_status == target:
        return best_status, best
    # Each unknown on its own: its value that moves the status furthest toward the target (ties: the
    # first value that does not move it away).
    chosen: dict[Unknown, Node] = {}
    for unknown in found:
        pick: tuple[str, Node] | None = None
        for value in unknown.values:
            if spent >= budget:
                break
            status = run({unknown: value})
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
        if status in RANK and not better(best_status, status):
            best, best_status = dict(chosen), status
    # One value at a time from there.
    for _ in range(2):
        improved = False
        for unknown in found:
            for value in unknown.values:
                if best_status == target or spent >= budget:
                    return best_status, best
                if best.get(unknown) == value:
                    continue
                trial = {**best, unknown: value}
                status = run(trial)
                if status in RANK and better(status, best_status):
                    best, best_status, improved = trial, status, True
        if not improved:
            break
    return best_status, best
