"""The facts a criterion reads that a case leaves undocumented, and the values they may take.

An *unknown* is a fact the criterion's shape reads that the case does not record:

- an attribute of a recorded node (a therapy episode without ``ip:failedToRespond``, a pain
  assessment without ``ip:painScore`` ...), whose values come from the property's range (booleans,
  the controlled values of its class, dates before the date of service, numbers from
  ``facts.toml``);
- a finding of a type the criterion names that the case does not record at all, which may turn out
  present or documented absent;
- a record the case does not hold (no therapy episode, no stimulator trial, no medical reason ...),
  built from a record template of ``facts.toml``.

The missing-items questionnaire asks exactly these facts; the counterfactual search tries their
values. Which terms a criterion reads is taken from its shape's SPARQL text, and for a derived
property from a static reading of the engine functions that compute it (``kb.completion.reads``).
The statuses, the search and the shared helpers are the completion machinery's (``kb.completion``);
this module adds the record templates that ask for what a questionnaire answer holds.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.completion.reads import shape_text, terms_read
from kb.completion.status import copy_graph as copy_graph
from kb.completion.status import request_of as request_of
from kb.completion.unknowns import group_recorded_absent
from kb.completion.unknowns import local as local
from kb.completion.unknowns import n3 as n3
from kb.completion.unknowns import term as term
from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP
from kb.questionnaire.patterns import named_values, record_classes

FACTS_FILE = Path(__file__).with_name("facts.toml")
# The conditions a case records are the patient's diagnoses (a diagnosis not recorded is not held),
# so only findings (signs, tests, features) may be missing from a record.
FINDING_LINK = (IP.ClinicalFinding, IP.findingType, IP.hasFinding)
MAX_VALUES = 8
MAX_KINDS_PER_CLASS = 4
# Days between the copies of a template that asks for several records.
RECORD_SPACING_DAYS = 14


@dataclass(frozen=True)
class Records:
    """The value of a record unknown: one or more new records, each a set of (property, value)."""

    records: tuple[tuple[tuple[URIRef, Node], ...], ...]


Value = Node | Records


@dataclass(frozen=True)
class Unknown:
    """An attribute ``prop`` of ``subject`` (a recorded node); with ``kind``, a finding of that type;
    with ``template``, new records linked by ``prop`` from ``subject`` (the patient or the request)."""

    subject: Node | None
    prop: URIRef
    values: tuple[Value, ...]
    kind: URIRef | None = None
    template: int | None = None

    @property
    def is_record(self) -> bool:
        return self.template is not None

    @property
    def is_finding(self) -> bool:
        return self.kind is not None


@cache
def settings() -> dict[str, Any]:
    with FACTS_FILE.open("rb") as handle:
        return tomllib.load(handle)


def fixed_properties() -> set[URIRef]:
    """Facts that define the request rather than document the patient: never unknown, never changed."""
    return {term(t) for t in settings()["fixed"]}


def implied(prop: URIRef) -> list[URIRef]:
    """The properties whose value documents ``prop`` too (facts.toml, [implied])."""
    return [term(t) for t in settings().get("implied", {}).get(n3(prop), [])]


def templates() -> list[dict[str, Any]]:
    found = settings()["template"]
    assert isinstance(found, list)
    return found


def date_of_service(case: Graph) -> dt.date:
    value = case.value(request_of(case), IP.dateOfService)
    day = value.toPython() if isinstance(value, Literal) else None
    assert isinstance(day, dt.date)
    return day


def controlled_values(knowledge: Knowledge, cls: URIRef) -> list[URIRef]:
    """The individuals of a class of controlled values, sorted."""
    return sorted((i for i, classes in knowledge.individual_types.items() if cls in classes and i != cls), key=str)


def candidates(knowledge: Knowledge, prop: URIRef, dos: dt.date, prefer: frozenset[URIRef] = frozenset()) -> tuple[Node, ...]:
    """The values tried for ``prop``: by its range, or the overrides of facts.toml; controlled values
    in ``prefer`` (those a criterion's conditions name) first."""
    ont = knowledge.ontology
    overrides = settings()["property"]
    rng = ont.value(prop, RDFS.range)
    if n3(prop) in overrides:
        datatype = rng if isinstance(rng, URIRef) else XSD.integer
        return tuple(Literal(v, datatype=datatype) for v in overrides[n3(prop)])
    if not isinstance(rng, URIRef):
        return ()
    if rng in (XSD.date, IP.RecordedDate):  # a recorded date is completed to the day
        return tuple(
            Literal((dos - dt.timedelta(days=d)).isoformat(), datatype=XSD.date) for d in settings()["dates"]["days_before"]
        )
    if str(rng).startswith(str(XSD)):
        by_type = settings()["datatype"]
        return tuple(Literal(v, datatype=rng) for v in by_type.get(f"xsd:{local(rng)}", []))
    named = [m for m in controlled_values(knowledge, rng) if m in prefer]
    members = [m for m in controlled_values(knowledge, rng) if m not in prefer]
    room = max(MAX_VALUES - len(named), 0)
    if len(members) > room:
        step = len(members) / room if room else 0
        members = [members[int(i * step)] for i in range(room)]
    return tuple(named + members)


def unknowns(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, further_records: bool = False) -> list[Unknown]:
    """The facts the criterion reads that the case does not record, with their candidate values.

    With ``further_records``, records that the case could add beside those it has (a later pain
    assessment) count too: they can complete a pend, but never undo what is documented.
    """
    ont = knowledge.ontology
    read = terms_read(knowledge, criterion)
    fixed = fixed_properties()
    derived = set(ont.subjects(IP.derivedBy, None))
    request = request_of(case)
    dos = date_of_service(case)
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
    conditions = named_values(knowledge, criterion)
    for prop in properties:
        values = candidates(knowledge, prop, dos, conditions)
        if not values:
            continue
        domain = ont.value(prop, RDFS.domain)
        domains = {domain} if isinstance(domain, URIRef) else set(record_classes(knowledge, criterion).get(prop, ()))
        if not isinstance(domain, URIRef):
            # No declared domain: the request's own fact when the shape reads it as `$this ip:prop`, and
            # on the records on which the shape's patterns read it (patterns.py).
            if re.search(rf"\$this\s+ip:{local(prop)}\b", text) and case.value(request, prop) is None:
                found.append(Unknown(request, prop, values))
            domains.discard(IP.PriorAuthorizationRequest)
        for node in nodes:
            types = {t for t in case.objects(node, RDF.type) if isinstance(t, URIRef)}
            if (
                domains & knowledge.classes_with_superclasses(types)
                and case.value(node, prop) is None
                and not any(case.value(node, other) is not None for other in implied(prop))
            ):
                found.append(Unknown(node, prop, values))
    for index, template in enumerate(templates()):
        link = term(template["link"])
        owner = request if template.get("owner") == "request" else patient_of(case)
        named = template.get("criteria")
        if named is not None:
            recorded = template.get("when") != "always" and _template_recorded(case, owner, template)
            if criterion.id not in named or recorded:
                continue
        else:
            recorded = any(True for _ in case.objects(None, link))
            if link not in read or not ((further_records and template.get("when") == "always") or not recorded):
                continue
        variants = tuple(_records(case, knowledge, template, variant, criterion) for variant in template["variants"])
        found.append(Unknown(owner, link, variants, template=index))
    for kind in _kinds_read(knowledge, read):
        if any(True for _ in case.subjects(IP.findingType, kind)) or group_recorded_absent(case, knowledge, kind):
            continue
        found.append(Unknown(patient_of(case), IP.hasFinding, (Literal(True), Literal(False)), kind))
    return found


def _template_recorded(case: Graph, owner: Node, template: dict[str, Any]) -> bool:
    """Whether the owner already holds a record of the template's class and fixed kind (a medical
    reason for the criterion, a trial of that procedure ...)."""
    cls = term(template["class"])
    for record in case.objects(owner, term(template["link"])):
        if (record, RDF.type, cls) not in case:
            continue
        first = template["variants"][0]
        markers = [(term(k), term(v)) for k, v in first.items() if isinstance(v, str) and v.startswith("ip:")]
        if not markers:
            return False
        if all((record, p, o) in case for p, o in markers):
            return True
    return False


def patient_of(case: Graph) -> Node:
    patient = case.value(request_of(case), IP.forPatient)
    if patient is None:
        patient = next(iter(case.subjects(RDF.type, IP.Patient)))
    return patient


def request_value(case: Graph, prop: URIRef) -> Node | None:
    """A value of the request, or of its primary service line (levels and sides of a line request)."""
    request = request_of(case)
    value = case.value(request, prop)
    if value is None:
        line = case.value(request, IP.hasServiceLine)
        value = case.value(line, prop) if line is not None else None
    return value


def _records(
    case: Graph, knowledge: Knowledge, template: dict[str, Any], variant: dict[str, Any], criterion: CriterionInfo
) -> Records:
    region = case.value(request_of(case), IP.spinalRegion)
    made = []
    for copy in range(int(template.get("records", 1))):
        fields: list[tuple[URIRef, Node]] = []
        for key, given in variant.items():
            for text in given if isinstance(given, list) else [given]:  # a list: one field per value
                fields.extend(_field(case, knowledge, term(key), text, criterion, region, copy))
        made.append(tuple(fields))
    return Records(tuple(made))


def _field(
    case: Graph, knowledge: Knowledge, prop: URIRef, text: str, criterion: CriterionInfo, region: Node | None, copy: int
) -> list[tuple[URIRef, Node]]:
    """One field of a new record: ``text`` of the facts file read for this case (``copy``: the record's index)."""
    dos = date_of_service(case)
    value: Node | None
    if text == "$region":
        value = region
    elif text == "$criterion":
        value = criterion.iri
    elif text == "$mbb-code":
        codes = settings()["codes"]["mbb"]
        value = term(codes[n3(region)]) if isinstance(region, URIRef) and n3(region) in codes else None
    elif text.startswith("$each:"):
        choices = text[len("$each:") :].split(",")
        value = term(choices[copy % len(choices)])
    elif text.startswith("$request:"):
        value = request_value(case, term(text[len("$request:") :]))
    elif text.startswith("$dos-"):
        days = int(text[5:]) + copy * RECORD_SPACING_DAYS
        value = Literal((dos - dt.timedelta(days=days)).isoformat(), datatype=XSD.date)
    elif text.startswith("ip:"):
        value = term(text)
    else:
        rng = knowledge.ontology.value(prop, RDFS.range)
        value = Literal(text, datatype=rng if isinstance(rng, URIRef) and str(rng).startswith(str(XSD)) else None)
    return [(prop, value)] if value is not None else []


def _kinds_read(knowledge: Knowledge, read: set[URIRef]) -> list[URIRef]:
    kinds: set[URIRef] = set()
    for t in read:
        classes = knowledge.individual_types.get(t, frozenset())
        if IP.FindingType in classes:
            kinds.add(t)
            continue
        if (t, RDF.type, OWL.Class) in knowledge.ontology and IP.FindingType in knowledge.classes_with_superclasses({t}):
            kinds.update(controlled_values(knowledge, t)[:MAX_KINDS_PER_CLASS])
    return sorted(kinds, key=str)


def add_records(graph: Graph, owner: Node, link: URIRef, cls: URIRef, value: Records, node_for: Any = None) -> list[Node]:
    """Add the records of ``value`` to ``graph``, linked from ``owner``; ``node_for(i)`` names the i-th record."""
    made: list[Node] = []
    for index, fields in enumerate(value.records):
        node = node_for(index) if node_for is not None else BNode()
        graph.add((owner, link, node))
        graph.add((node, RDF.type, cls))
        for prop, obj in fields:
            graph.add((node, prop, obj))
        made.append(node)
    return made


def add_finding(graph: Graph, patient: Node, kind: URIRef, present: bool, node: Node | None = None) -> Node:
    fact = node if node is not None else BNode()
    cls, kind_prop, link = FINDING_LINK
    graph.add((patient, link, fact))
    graph.add((fact, RDF.type, cls))
    graph.add((fact, kind_prop, kind))
    if not present:
        graph.add((fact, IP.present, Literal(False)))
    return fact


def apply(case: Graph, assignment: dict[Unknown, Value]) -> Graph:
    """A copy of the case with the unknowns given values (new records or findings where asked)."""
    result = copy_graph(case)
    for unknown, value in assignment.items():
        apply_one(result, unknown, value)
    return result


def apply_one(graph: Graph, unknown: Unknown, value: Value, node_for: Any = None) -> list[Node]:
    """Add one unknown's value to ``graph``; the nodes it made (records, findings)."""
    assert unknown.subject is not None
    if unknown.template is not None:
        assert isinstance(value, Records)
        template = templates()[unknown.template]
        return add_records(graph, unknown.subject, unknown.prop, term(template["class"]), value, node_for)
    assert not isinstance(value, Records)
    if unknown.kind is not None:
        node = node_for(0) if node_for is not None else None
        return [add_finding(graph, unknown.subject, unknown.kind, value == Literal(True), node)]
    graph.add((unknown.subject, unknown.prop, value))
    return []
