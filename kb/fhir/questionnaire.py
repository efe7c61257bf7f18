"""The case-facts QuestionnaireResponse: facts no other resource carries, one item per case property.

Reading: each top-level item names the resource its facts are about (``linkId`` = ``Claim/<id>``,
``Patient/<id>``, ``Procedure/<id>`` ...); each of its items is a property (``ip:<name>``) with one
answer per value. A node value (a therapy episode ...) is an answer whose ``valueCoding`` is the node's
class and whose nested items are the node's properties. Writing does the reverse (``answers_for``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.fhir.bundle import Entry
from kb.fhir.outcome import Issue
from kb.fhir.tables import ResourceTable
from kb.fhir.terminology import IPKG_SYSTEM
from kb.namespaces import IP

if TYPE_CHECKING:
    from kb.fhir.mapper import _State

MAX_NESTING = 4


def read_answers(state: _State, entry: Entry, table: ResourceTable) -> None:
    if entry.resource.get("questionnaire") != table.settings["questionnaire"]:
        note = "a QuestionnaireResponse of another questionnaire: not used"
        state.unmapped.append(Issue("informational", entry.path, note, "information"))
        return
    state.nodes[entry.index] = BNode()
    for i, item in enumerate(entry.resource.get("item") or []):
        where = f"{entry.path}.item[{i}]"
        target = state.bundle.resolve(str(item.get("linkId", "")))
        subject = state.nodes.get(target.index) if target is not None else None
        if subject is None:
            state.errors.append(
                Issue("not-found", f"{where}.linkId", f"{str(item.get('linkId'))[:100]!r} names no mapped resource of the bundle")
            )
            continue
        state.read.add(f"{where}.linkId")
        _read_properties(state, item.get("item") or [], where, subject, 0)


def expand(link: str, prefixes: dict[str, str]) -> URIRef | None:
    """The property a linkId names: ``prefix:name`` with a known prefix, or a full IRI."""
    prefix, _, name = link.partition(":")
    if prefix in prefixes and name:
        return URIRef(prefixes[prefix] + name)
    if link.startswith(("https://", "http://")):
        return URIRef(link)
    return None


def compact(prop: URIRef, prefixes: dict[str, str]) -> str:
    for prefix, base in prefixes.items():
        if str(prop).startswith(base):
            return f"{prefix}:{str(prop).removeprefix(base)}"
    return str(prop)


def _read_properties(state: _State, items: list[Any], where: str, subject: Node, depth: int) -> None:
    prefixes: dict[str, str] = state.tables["QuestionnaireResponse"].settings["prefixes"]
    for j, prop_item in enumerate(items):
        at = f"{where}.item[{j}]"
        link = str(prop_item.get("linkId", ""))
        prop = expand(link, prefixes)
        if prop is None:
            state.errors.append(Issue("code-invalid", f"{at}.linkId", f"{link[:80]!r} is not a case property (ip:<name>)"))
            continue
        state.read.add(f"{at}.linkId")
        for k, answer in enumerate(prop_item.get("answer") or []):
            value = _answer_value(state, answer, f"{at}.answer[{k}]", depth)
            if value is not None:
                state.graph.add((subject, prop, value))


def _answer_value(state: _State, answer: dict[str, Any], at: str, depth: int) -> Node | None:
    from kb.fhir.mapper import date_literal

    state.read.add(at)
    nested = answer.get("item")
    if "valueCoding" in answer:
        coding = answer["valueCoding"]
        term = state.terminology.term(str(coding.get("system", "")), str(coding.get("code", "")), state.knowledge.ontology)
        if coding.get("system") != IPKG_SYSTEM or term is None:
            code = str(coding.get("code"))[:40]
            state.errors.append(Issue("code-invalid", f"{at}.valueCoding", f"unknown ontology code {code!r}"))
            return None
        if not nested:
            return term
        if depth >= MAX_NESTING:
            state.errors.append(Issue("too-costly", f"{at}.item", f"nodes nest at most {MAX_NESTING} deep"))
            return None
        node = BNode()
        state.graph.add((node, RDF.type, term))
        _read_properties(state, nested, at, node, depth + 1)
        return node
    if "valueDate" in answer:
        return date_literal(answer["valueDate"], f"{at}.valueDate", state.errors)
    if "valueBoolean" in answer:
        return Literal(bool(answer["valueBoolean"]))
    if "valueInteger" in answer:
        return Literal(int(answer["valueInteger"]))
    if "valueDecimal" in answer:
        return Literal(str(answer["valueDecimal"]), datatype=XSD.decimal)
    if "valueString" in answer:
        return Literal(str(answer["valueString"]))
    kinds = "valueCoding, valueDate, valueBoolean, valueInteger, valueDecimal or valueString"
    state.errors.append(Issue("not-supported", at, f"an answer must be {kinds}"))
    return None


# -- writing -----------------------------------------------------------------------------------


def answer_for(graph: Graph, value: Node, answer_types: dict[str, str], prefixes: dict[str, str]) -> dict[str, Any]:
    """The answer of one value (a node value brings its properties as nested items)."""
    if isinstance(value, Literal):
        datatype = value.datatype or XSD.string
        key = "xsd:" + str(datatype).removeprefix(str(XSD))
        kind = answer_types[key]
        python: Any = value.toPython()
        if kind == "valueDate":
            python = str(value)
        elif kind == "valueDecimal":
            python = float(value)
        return {kind: python}
    if isinstance(value, URIRef) and (value, None, None) not in graph:
        return {"valueCoding": {"system": IPKG_SYSTEM, "code": str(value).removeprefix(str(IP))}}
    cls = graph.value(value, RDF.type)
    answer: dict[str, Any] = {"valueCoding": {"system": IPKG_SYSTEM, "code": str(cls).removeprefix(str(IP))}}
    answer["item"] = property_items(graph, value, {RDF.type}, answer_types, prefixes)
    return answer


def property_items(
    graph: Graph, node: Node, skip: set[URIRef], answer_types: dict[str, str], prefixes: dict[str, str]
) -> list[dict[str, Any]]:
    """One item per property of ``node`` (except ``skip``), values in a stable order."""
    items = []
    for prop in sorted({p for p in graph.predicates(node) if isinstance(p, URIRef) and p not in skip}):
        values = sorted(graph.objects(node, prop), key=_order(graph))
        items.append(
            {"linkId": compact(prop, prefixes), "answer": [answer_for(graph, v, answer_types, prefixes) for v in values]}
        )
    return items


def _order(graph: Graph) -> Any:
    def key(value: Node) -> str:
        if isinstance(value, BNode):
            return " ".join(sorted(f"{p} {o}" for p, o in graph.predicate_objects(value) if not isinstance(o, BNode)))
        return str(value)

    return key
