"""A PAS Request Bundle -> a case graph, by the mapping tables; unmapped elements are reported."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.fhir import questionnaire
from kb.fhir.bundle import Entry, RequestBundle
from kb.fhir.outcome import BundleError, Issue
from kb.fhir.paths import leaves, walk
from kb.fhir.tables import Element, Profile, ResourceTable, load_tables
from kb.fhir.terminology import Terminology, curie, in_range, load_terminology
from kb.knowledge import Knowledge
from kb.namespaces import IP

CASE_BASE = "https://w3id.org/ipkg/case/fhir-claim/"


@dataclass(frozen=True)
class ClaimIdentifier:
    system: str
    value: str

    @property
    def request(self) -> URIRef:
        """The request IRI every submission of this claim identifier is recorded under."""
        digest = hashlib.sha256(f"{self.system}|{self.value}".encode()).hexdigest()[:40]
        return URIRef(CASE_BASE + digest)


@dataclass
class MappedCase:
    graph: Graph
    request: URIRef
    identifier: ClaimIdentifier
    unmapped: list[Issue] = field(default_factory=list)


@dataclass
class _State:
    bundle: RequestBundle
    knowledge: Knowledge
    terminology: Terminology
    tables: dict[str, ResourceTable]
    graph: Graph
    request: URIRef
    patient: Node
    nodes: dict[int, Node] = field(default_factory=dict)
    dates: list[tuple[str, str]] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    unmapped: list[Issue] = field(default_factory=list)
    read: set[str] = field(default_factory=set)


def claim_identifier(claim: Entry) -> ClaimIdentifier:
    for i, ident in enumerate(claim.resource.get("identifier") or []):
        value = ident.get("value")
        if isinstance(value, str) and value.strip():
            return ClaimIdentifier(str(ident.get("system", "")), value)
        raise BundleError(422, [Issue("required", f"{claim.path}.identifier[{i}].value", "the identifier has no value")])
    raise BundleError(422, [Issue("required", f"{claim.path}.identifier", "the Claim needs an identifier (PAS: 1..*)")])


def map_bundle(bundle: RequestBundle, knowledge: Knowledge) -> MappedCase:
    """The case graph of a bundle; BundleError when a code, a reference or a date is refused."""
    tables = load_tables()
    identifier = claim_identifier(bundle.claim)
    graph = Graph()
    request = identifier.request
    graph.add((request, RDF.type, IP.PriorAuthorizationRequest))
    patient_ref = (bundle.claim.resource.get("patient") or {}).get("reference", "")
    patient_entry = bundle.resolve(patient_ref)
    if patient_entry is None or patient_entry.type != "Patient":
        raise BundleError(422, [Issue("not-found", f"{bundle.claim.path}.patient", "Claim.patient must be a Patient entry")])
    patient = BNode()
    state = _State(bundle, knowledge, load_terminology(), tables, graph, request, patient)
    state.nodes[bundle.claim.index] = request
    state.nodes[patient_entry.index] = patient
    _map_claim(state, tables["Claim"])
    _map_node(state, patient_entry, tables["Patient"].profiles[0], patient)
    for entry in bundle.entries:
        if entry.index in state.nodes or entry.type in ("Claim", "Patient", "QuestionnaireResponse"):
            continue
        table = tables.get(entry.type)
        if table is None:
            state.unmapped.append(Issue("informational", entry.path, f"{entry.type} is not used", "information"))
            continue
        subject = (entry.resource.get("subject") or {}).get("reference", "")
        if bundle.resolve(subject) is not patient_entry:
            state.unmapped.append(Issue("informational", entry.path, "not about the Claim's patient: not used", "information"))
            continue
        _map_resource(state, entry, table)
    for entry in bundle.entries:
        if entry.type == "QuestionnaireResponse":
            questionnaire.read_answers(state, entry, tables["QuestionnaireResponse"])
    _check_dates(state)
    if state.errors:
        raise BundleError(422, state.errors[:20])
    for entry in bundle.entries:
        table = tables.get(entry.type)
        if table is not None and entry.index in state.nodes:
            _report_unmapped(state, entry, table)
    return MappedCase(graph, request, identifier, state.unmapped)


# -- resources ---------------------------------------------------------------------------------


def _map_resource(state: _State, entry: Entry, table: ResourceTable) -> None:
    for profile in table.profiles:
        if _selected(state, entry, profile):
            node = BNode()
            state.graph.add((state.patient, curie(profile.link), node))
            state.nodes[entry.index] = node
            _map_node(state, entry, profile, node)
            return
    selector = table.profiles[0].selector
    concepts = list(walk(entry.resource, selector.removesuffix(".coding[]"), entry.path))
    where = concepts[0][1] if concepts else f"{entry.path}.{selector.split('.')[0]}"
    _code_error(state, concepts[0][0] if concepts else {}, where, f"{entry.type} code", entry.path)


def _selected(state: _State, entry: Entry, profile: Profile) -> bool:
    for concept, _ in walk(entry.resource, profile.selector.removesuffix(".coding[]"), entry.path):
        term = _concept_term(state, concept)
        if term is None:
            continue
        if profile.term and term == curie(profile.term):
            return True
        if profile.selects and in_range(state.knowledge.ontology, curie(profile.selects), term):
            return True
    return False


def _map_node(state: _State, entry: Entry, profile: Profile, node: Node) -> None:
    if profile.cls:
        state.graph.add((node, RDF.type, curie(profile.cls)))
    for element in profile.elements:
        subject = state.request if element.scope == "request" else node
        siblings = tuple(
            curie(e.property)
            for e in profile.elements
            if e is not element and e.path == element.path and e.kind == "code" and e.property
        )
        _apply(state, entry.resource, entry.path, element, subject, siblings)


def _apply(
    state: _State, resource: dict[str, Any], where: str, element: Element, subject: Node, siblings: tuple[URIRef, ...] = ()
) -> None:
    """Read one row. ``siblings``: the properties of other code rows of the same path (a code fills the one
    whose values include it: a bodySite is a region or a side)."""
    path = element.path
    if element.kind in ("code", "map"):
        path = path.removesuffix(".coding[]")
    for value, expression in walk(resource, path, where):
        state.read.add(expression)
        literal = _value(state, element, value, expression, siblings)
        if literal is None:
            continue
        if element.kind == "date" and element.role not in ("service-date", "request-date"):
            state.dates.append((str(literal), expression))
        if element.property:
            prop = curie(element.property)
            if element.first and (subject, prop, None) in state.graph:
                continue
            state.graph.add((subject, prop, literal))


def _value(state: _State, element: Element, value: Any, expression: str, siblings: tuple[URIRef, ...] = ()) -> Node | None:
    kind = element.kind
    if kind == "date":
        return date_literal(value, expression, state.errors)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            state.errors.append(Issue("value", expression, f"{value!r} is not a whole number"))
            return None
        return Literal(int(value))
    if kind == "boolean":
        return Literal(bool(value))
    if kind == "string":
        return Literal(str(value))
    if kind == "reference":
        target = state.bundle.resolve(str(value.get("reference", ""))) if isinstance(value, dict) else None
        return state.nodes.get(target.index) if target is not None else None
    if kind == "code":
        if not isinstance(value, dict) or not value.get("coding"):
            return None
        term = _concept_term(state, value)
        if term is None:
            _code_error(state, value, expression, element.property or "code", "")
            return None
        if element.property and not in_range(state.knowledge.ontology, curie(element.property), term):
            if any(in_range(state.knowledge.ontology, other, term) for other in siblings):
                return None
            note = f"{_short(term)} is not a value of {element.property}"
            state.errors.append(Issue("code-invalid", f"{expression}.coding", note))
            return None
        return term if element.property else None
    if kind == "map":
        for i, coding in enumerate(value.get("coding") or []):
            if coding.get("system") in element.systems and coding.get("code") in element.values:
                mapped = element.values[coding["code"]]
                return Literal(mapped) if isinstance(mapped, bool) else curie(mapped)
            state.unmapped.append(
                Issue("informational", f"{expression}.coding[{i}]", f"code {coding.get('code')!r} is not used", "information")
            )
        return None
    raise ValueError(f"unknown mapping kind {kind!r}")


def _concept_term(state: _State, concept: Any) -> URIRef | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        term = state.terminology.term(str(coding.get("system", "")), str(coding.get("code", "")), state.knowledge.ontology)
        if term is not None:
            return term
    return None


def _code_error(state: _State, concept: Any, expression: str, what: str, entry_path: str) -> None:
    """A coded element no term was found for: refused, or (a listed-in-part system) reported as not used."""
    codings = concept.get("coding") or [] if isinstance(concept, dict) else []
    if not codings:
        state.errors.append(Issue("required", expression, f"{what}: no coding"))
        return
    known = [c for c in codings if state.terminology.system(str(c.get("system", ""))) is not None]
    partial = [c for c in known if not state.terminology.systems[str(c["system"])].complete]
    if partial:
        unused = entry_path or expression
        note = f"{what}: {partial[0].get('code')!r} ({partial[0].get('system')}) is not in the terminology table: not used"
        state.unmapped.append(Issue("informational", unused, note[:300], "information"))
        return
    if not known:
        systems = ", ".join(repr(str(c.get("system", "")))[:80] for c in codings)
        state.errors.append(Issue("code-invalid", f"{expression}.coding[0].system", f"{what}: unknown code system {systems}"))
        return
    i = codings.index(known[0])
    state.errors.append(
        Issue(
            "code-invalid",
            f"{expression}.coding[{i}].code",
            f"{what}: unknown code {str(known[0].get('code'))[:40]!r} in {known[0].get('system')}",
        )
    )


def _short(term: URIRef) -> str:
    return "ip:" + str(term).removeprefix(str(IP))


# -- the Claim ---------------------------------------------------------------------------------


def _map_claim(state: _State, table: ResourceTable) -> None:
    claim = state.bundle.claim
    profile = table.profiles[0]
    items = list(walk(claim.resource, "item[]", claim.path))
    lines = len(items) > 1 or any("quantity" in item for item, _ in items)
    item_nodes: list[Node] = []
    for _ in items:
        if lines:
            line = BNode()
            state.graph.add((state.request, IP.hasServiceLine, line))
            state.graph.add((line, RDF.type, IP.ServiceLine))
            item_nodes.append(line)
        else:
            item_nodes.append(state.request)
    for element in profile.elements:
        if element.kind == "date" and element.role == "request-date":
            for value, expression in walk(claim.resource, element.path, claim.path):
                state.read.add(expression)
                date_literal(value, expression, state.errors)
            continue
        if element.path.startswith("item[]."):
            if element.scope == "line" and not lines:
                continue
            sub = Element(**{**element.__dict__, "path": element.path.removeprefix("item[].")})
            for (item, where), node in zip(items, item_nodes, strict=True):
                subject = state.request if element.scope == "request" else node
                _apply(state, item, where, sub, subject)
        elif element.scope == "diagnosis":
            for concept, where in walk(claim.resource, element.path.removesuffix(".coding[]"), claim.path):
                state.read.add(where)
                term = _value(state, element, concept, where)
                if term is not None:
                    condition = BNode()
                    state.graph.add((state.patient, IP.hasCondition, condition))
                    state.graph.add((condition, RDF.type, IP.Condition))
                    state.graph.add((condition, IP.conditionType, term))
        else:
            _apply(state, claim.resource, claim.path, element, state.request)
    services = set(state.graph.objects(state.request, IP.dateOfService))
    if len(services) > 1:
        state.errors.append(Issue("business-rule", f"{claim.path}.item", "every item must have the same date of service"))


# -- dates and reports -------------------------------------------------------------------------


def date_literal(value: Any, expression: str, errors: list[Issue]) -> Literal | None:
    """A FHIR date or dateTime as xsd:date, xsd:gYearMonth or xsd:gYear (the precision it has)."""
    text = str(value)
    day = text[:10]
    try:
        if len(text) >= 10:
            dt.date.fromisoformat(day)
            return Literal(day, datatype=XSD.date)
        if len(text) == 7:
            dt.date.fromisoformat(text + "-01")
            return Literal(text, datatype=XSD.gYearMonth)
        if len(text) == 4 and text.isdigit():
            return Literal(text, datatype=XSD.gYear)
    except ValueError:
        pass
    errors.append(Issue("value", expression, f"{text[:40]!r} is not a date"))
    return None


def earliest_day(text: str) -> dt.date:
    if len(text) == 4:
        return dt.date(int(text), 1, 1)
    if len(text) == 7:
        return dt.date.fromisoformat(text + "-01")
    return dt.date.fromisoformat(text[:10])


def _check_dates(state: _State) -> None:
    claim = state.bundle.claim
    created = str(claim.resource.get("created", ""))
    try:
        request_day = earliest_day(created)
    except ValueError:
        state.errors.append(Issue("value", f"{claim.path}.created", f"{created[:40]!r} is not a date"))
        return
    for text, expression in state.dates:
        if earliest_day(text) > request_day:
            state.errors.append(
                Issue("business-rule", expression, f"{text} is after the request was created ({request_day.isoformat()})")
            )


def _report_unmapped(state: _State, entry: Entry, table: ResourceTable) -> None:
    for expression, plain in leaves(entry.resource, entry.path):
        if table.covers(plain) or any(expression == r or expression.startswith((r + ".", r + "[")) for r in state.read):
            continue
        state.unmapped.append(Issue("informational", expression, "element not used by the review", "information"))
