"""A FHIR QuestionnaireResponse to a pend's missing items, merged into the case with its provenance.

``read_response`` checks the response against the R4B model and against the items (each linkId one
of the questionnaire's, each answer of the item's type and, for a choice, one of its options) and
turns it into values of the unknowns; any problem is a ``QuestionnaireResponseError`` naming it.
``merge`` adds the values to a copy of the case and writes, in PROV-O, which answer each added
statement comes from, which response, from whom and when.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError
from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from kb.dates import EARLIEST_YEAR, LATEST_YEAR
from kb.knowledge import Knowledge
from kb.namespaces import IP
from kb.questionnaire.facts import FINDING_LINK, Records, Unknown, Value, apply_one, copy_graph, local, templates, term
from kb.questionnaire.fhir import answer_options, item_type, record_fields, repeating_fields, settings
from kb.questionnaire.missing import MissingItem

PROV = Namespace("http://www.w3.org/ns/prov#")
RDF_JSON = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")
VALUE_KEYS = {
    "boolean": "valueBoolean",
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "date": "valueDate",
    "string": "valueString",
    "choice": "valueCoding",
}


class QuestionnaireResponseError(ValueError):
    """The response cannot be read against the questionnaire; the message names the problem."""


@dataclass(frozen=True)
class Answer:
    item: MissingItem
    value: Value
    # (linkId, answer as text) of each answer this value was read from
    sources: tuple[tuple[str, str], ...]


def read_response(data: Any, items: list[MissingItem], knowledge: Knowledge, questionnaire_url: str) -> list[Answer]:
    if not isinstance(data, dict) or data.get("resourceType") != "QuestionnaireResponse":
        raise QuestionnaireResponseError('send a FHIR QuestionnaireResponse ("resourceType": "QuestionnaireResponse")')
    try:
        QuestionnaireResponse.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise QuestionnaireResponseError(f"not a valid R4 QuestionnaireResponse: {where}: {first.get('msg')}") from None
    if data.get("questionnaire") != questionnaire_url:
        raise QuestionnaireResponseError(f"the response must answer the questionnaire {questionnaire_url!r}")
    if data.get("status") not in ("completed", "amended"):
        raise QuestionnaireResponseError('only a response with status "completed" or "amended" is merged')
    by_id = {item.link_id: item for item in items}
    answers: list[Answer] = []
    seen: set[str] = set()
    for entry in data.get("item", []):
        link_id = entry.get("linkId")
        item = by_id.get(link_id)
        if item is None:
            raise QuestionnaireResponseError(f"item {link_id!r} is not a question of this questionnaire")
        if item.unknown.template is None and link_id in seen:
            raise QuestionnaireResponseError(f"item {link_id!r} is answered twice")
        seen.add(link_id)
        if item.unknown.template is not None:
            record = _record(entry, item, knowledge)
            if record is not None:
                answers.append(record)
            continue
        given = entry.get("answer", [])
        if not given:
            continue
        if len(given) > 1:
            raise QuestionnaireResponseError(f"item {link_id!r} takes one answer")
        if item.unknown.kind is not None:
            value = _value(given[0], "boolean", [], link_id)
        else:
            value = _value(
                given[0], item_type(knowledge, item.unknown.prop), answer_options(knowledge, item.unknown.prop), link_id
            )
        answers.append(Answer(item, value, ((link_id, _shown(value)),)))
    # Answers to several records of one item become one value with every record.
    merged: dict[str, Answer] = {}
    for answer in answers:
        if answer.item.link_id in merged and isinstance(answer.value, Records):
            before = merged[answer.item.link_id]
            assert isinstance(before.value, Records)
            merged[answer.item.link_id] = Answer(
                answer.item, Records(before.value.records + answer.value.records), before.sources + answer.sources
            )
        else:
            merged[answer.item.link_id] = answer
    return list(merged.values())


def _record(entry: dict[str, Any], item: MissingItem, knowledge: Knowledge) -> Answer | None:
    template = templates()[item.unknown.template or 0]
    asked = {f"{item.link_id}.{local(p)}": p for p in record_fields(template)}
    first = item.unknown.values[0]
    assert isinstance(first, Records)
    repeating = repeating_fields(template)
    fields = [(p, v) for p, v in first.records[0] if p not in asked.values()]
    sources: list[tuple[str, str]] = []
    answered: set[str] = set()
    for child in entry.get("item", []):
        link_id = child.get("linkId")
        prop = asked.get(link_id)
        if prop is None:
            raise QuestionnaireResponseError(f"item {link_id!r} is not a question of the record {item.link_id!r}")
        if link_id in answered:
            raise QuestionnaireResponseError(f"item {link_id!r} is answered twice in one record")
        answered.add(link_id)
        given = child.get("answer", [])
        if len(given) > 1 and prop not in repeating:
            raise QuestionnaireResponseError(f"item {link_id!r} takes one answer")
        for one in given:
            value = _value(one, item_type(knowledge, prop), answer_options(knowledge, prop), link_id)
            if (prop, value) not in fields:
                fields.append((prop, value))
                sources.append((link_id, _shown(value)))
    if not sources:
        return None
    return Answer(item, Records((tuple(sorted(fields, key=lambda f: (str(f[0]), str(f[1])))),)), tuple(sources))


def _value(answer: dict[str, Any], kind: str, options: list[URIRef], link_id: str) -> Node:
    key = VALUE_KEYS.get(kind, "valueString")
    others = [k for k in answer if k.startswith("value") and k != key]
    if key not in answer or others:
        raise QuestionnaireResponseError(f"item {link_id!r} takes a {key} answer")
    raw = answer[key]
    if kind == "boolean":
        return Literal(bool(raw))
    if kind == "integer":
        return Literal(int(raw), datatype=XSD.integer)
    if kind == "decimal":
        return Literal(str(raw), datatype=XSD.decimal)
    if kind == "date":
        try:
            day = dt.date.fromisoformat(str(raw))
        except ValueError:
            raise QuestionnaireResponseError(f"item {link_id!r}: a full date (YYYY-MM-DD) is needed") from None
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise QuestionnaireResponseError(f"item {link_id!r}: the date is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}")
        return Literal(day.isoformat(), datatype=XSD.date)
    if kind == "choice":
        code = raw.get("code") if isinstance(raw, dict) else None
        system = raw.get("system") if isinstance(raw, dict) else None
        chosen = next((o for o in options if local(o) == code), None)
        if chosen is None or system not in (None, settings()["code_system"]):
            raise QuestionnaireResponseError(f"item {link_id!r}: {code!r} is not one of its answer options")
        return chosen
    return Literal(str(raw))


def _shown(value: Node) -> str:
    return local(value) if isinstance(value, URIRef) else str(value)


def merge(
    case: Graph,
    answers: list[Answer],
    response: dict[str, Any],
    response_iri: URIRef,
    new_case: URIRef,
    previous_case: URIRef,
    received: dt.datetime,
    agent: str,
) -> tuple[Graph, Graph]:
    """The case with the answers added, and the provenance of every added statement (PROV-O)."""
    merged = copy_graph(case)
    prov = Graph()
    prov.bind("prov", PROV)
    prov.bind("ip", IP)
    activity = URIRef(f"{response_iri}/merge")
    prov.add((response_iri, RDF.type, PROV.Entity))
    prov.add((response_iri, RDF.type, IP.QuestionnaireResponseRecord))
    prov.add(
        (response_iri, IP.responseJson, Literal(json.dumps(response, ensure_ascii=False, sort_keys=True), datatype=RDF_JSON))
    )
    if isinstance(response.get("questionnaire"), str):
        prov.add((response_iri, IP.answersQuestionnaire, URIRef(response["questionnaire"])))
    authored = response.get("authored")
    if isinstance(authored, str):
        prov.add((response_iri, PROV.generatedAtTime, Literal(authored, datatype=XSD.dateTime)))
    for role in ("author", "source"):
        reference = response.get(role)
        if isinstance(reference, dict) and (reference.get("reference") or reference.get("display")):
            prov.add((response_iri, IP.responseAuthor, Literal(str(reference.get("reference") or reference.get("display")))))
    prov.add((activity, RDF.type, PROV.Activity))
    prov.add((activity, PROV.used, response_iri))
    prov.add((activity, PROV.used, previous_case))
    prov.add((activity, PROV.endedAtTime, Literal(received.isoformat(timespec="seconds"), datatype=XSD.dateTime)))
    agent_node = URIRef(f"{response_iri}/agent")
    prov.add((agent_node, RDF.type, PROV.Agent))
    prov.add((agent_node, RDFS.label, Literal(agent)))
    prov.add((activity, PROV.wasAssociatedWith, agent_node))
    prov.add((new_case, PROV.wasRevisionOf, previous_case))
    prov.add((new_case, PROV.wasGeneratedBy, activity))
    for answer in answers:
        before = set(merged)

        def node_for(index: int, link: str = answer.item.link_id) -> URIRef:
            return URIRef(f"{new_case}/answer-{link}-{index + 1}")

        apply_one(merged, answer.item.unknown, answer.value, node_for)
        answer_node = URIRef(f"{response_iri}/item-{answer.item.link_id}")
        prov.add((answer_node, RDF.type, PROV.Entity))
        prov.add((answer_node, RDF.type, IP.QuestionnaireAnswer))
        prov.add((answer_node, PROV.wasDerivedFrom, response_iri))
        prov.add((answer_node, IP.linkId, Literal(answer.item.link_id)))
        for link_id, shown in answer.sources:
            prov.add((answer_node, IP.answerText, Literal(f"{link_id}: {shown}")))
        for criterion in answer.item.criteria:
            prov.add((answer_node, IP.answersForCriterion, criterion.iri))
        for index, (s, p, o) in enumerate(sorted(set(merged) - before, key=str), 1):
            statement = URIRef(f"{answer_node}/statement-{index}")
            prov.add((statement, RDF.type, RDF.Statement))
            prov.add((statement, RDF.subject, s))
            prov.add((statement, RDF.predicate, p))
            prov.add((statement, RDF.object, o))
            prov.add((statement, PROV.wasDerivedFrom, answer_node))
            prov.add((statement, PROV.wasGeneratedBy, activity))
    return merged, prov


def favourable_answers(items: list[MissingItem], values: dict[Unknown, Value]) -> list[dict[str, Any]]:
    """Response items that give the unknowns ``values`` (to build a response from a completion)."""
    result: list[dict[str, Any]] = []
    for item in items:
        if item.unknown not in values:
            continue
        value = values[item.unknown]
        if isinstance(value, Records):
            template = templates()[item.unknown.template or 0]
            asked = record_fields(template)
            for record in value.records:
                children = [
                    {"linkId": f"{item.link_id}.{local(p)}", "answer": [_fhir_value(v) for q, v in record if q == p]}
                    for p in asked
                    if any(q == p for q, _ in record)
                ]
                result.append({"linkId": item.link_id, "item": children})
            continue
        result.append({"linkId": item.link_id, "answer": [_fhir_value(value)]})
    return result


def _fhir_value(value: Node) -> dict[str, Any]:
    if isinstance(value, URIRef):
        return {"valueCoding": {"system": settings()["code_system"], "code": local(value)}}
    assert isinstance(value, Literal)
    python = value.toPython()
    if isinstance(python, bool):
        return {"valueBoolean": python}
    if value.datatype in (XSD.integer, XSD.nonNegativeInteger, XSD.int):
        return {"valueInteger": int(python)}
    if value.datatype == XSD.decimal:
        return {"valueDecimal": float(python)}
    if value.datatype == XSD.date:
        return {"valueDate": str(value)}
    return {"valueString": str(value)}


__all__ = ["FINDING_LINK", "Answer", "QuestionnaireResponseError", "favourable_answers", "merge", "read_response", "term"]
