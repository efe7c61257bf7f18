"""FHIR R4 Questionnaires written from the knowledge graph.

- ``pathway_questionnaire``: for one pathway of a guideline, the facts its criteria (and the
  criteria outside the pathways that apply in its phase) read, grouped by the record that holds them.
- ``missing_questionnaire``: for a pended determination, only its missing items.

Each item's ``code`` is the ontology term it asks for; its criterion extensions name the criteria it
is asked for (id, IRI, verbatim text); a class of controlled values gives a ``choice`` item whose
answer options are the class's individuals. The wording and the enableWhen rules are in
``questionnaire.toml``. Every questionnaire is checked against the R4B models of ``fhir.resources``.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.knowledge import CriterionInfo, GuidelineInfo, Knowledge, PathwayInfo
from kb.namespaces import IP
from kb.questionnaire.facts import (
    FINDING_LINK,
    Records,
    Unknown,
    controlled_values,
    local,
    n3,
    templates,
    term,
)
from kb.questionnaire.missing import MissingItem
from kb.questionnaire.reads import terms_read

SETTINGS_FILE = Path(__file__).with_name("questionnaire.toml")
RECORD_NODE_PROPERTIES = (IP.modality, IP.conditionType, IP.findingType, IP.performedProcedure, IP.cptCode, IP.testType)
RECORD_DATE_PROPERTIES = (IP.startDate, IP.assessedOn, IP.performedOn, IP.diagnosedOn, IP.documentedOn)


@cache
def settings() -> dict[str, Any]:
    with SETTINGS_FILE.open("rb") as handle:
        return tomllib.load(handle)


def label(knowledge: Knowledge, iri: Node) -> str:
    for value in knowledge.ontology.objects(iri, RDFS.label):
        if isinstance(value, Literal):
            return str(value)
    return local(iri)


def item_type(knowledge: Knowledge, prop: URIRef) -> str:
    rng = knowledge.ontology.value(prop, RDFS.range)
    if isinstance(rng, URIRef) and (
        found := settings()["types"].get(n3(rng) if str(rng).startswith(str(IP)) else f"xsd:{local(rng)}")
    ):
        return str(found)
    if isinstance(rng, URIRef) and controlled_values(knowledge, rng):
        return "choice"
    if isinstance(rng, URIRef) and (rng, RDF.type, OWL.Class) in knowledge.ontology:
        return "choice"
    return "string"


def coding(knowledge: Knowledge, iri: URIRef) -> dict[str, str]:
    return {"system": settings()["code_system"], "code": local(iri), "display": label(knowledge, iri)}


def answer_options(knowledge: Knowledge, prop: URIRef) -> list[URIRef]:
    rng = knowledge.ontology.value(prop, RDFS.range)
    return controlled_values(knowledge, rng) if isinstance(rng, URIRef) else []


def criterion_extension(criterion: CriterionInfo) -> dict[str, Any]:
    return {
        "url": settings()["criterion_extension"],
        "extension": [
            {"url": "id", "valueString": criterion.id},
            {"url": "iri", "valueUri": str(criterion.iri)},
            {"url": "text", "valueString": criterion.text},
        ],
    }


def question(knowledge: Knowledge, link_id: str, prop: URIRef, text: str, criteria: list[CriterionInfo]) -> dict[str, Any]:
    kind = item_type(knowledge, prop)
    item: dict[str, Any] = {"linkId": link_id, "text": text, "type": kind, "code": [coding(knowledge, prop)]}
    if criteria:
        item["extension"] = [criterion_extension(c) for c in criteria]
    if kind == "choice":
        options = answer_options(knowledge, prop)
        if options:
            item["answerOption"] = [{"valueCoding": coding(knowledge, o)} for o in options]
    return item


def _enable_when(items: list[dict[str, Any]]) -> None:
    """Add the enableWhen rules of questionnaire.toml between sibling items."""
    by_code = {item["code"][0]["code"]: item for item in items if item.get("code")}
    for rule in settings().get("enable_when", []):
        target = by_code.get(local(term(rule["question"])))
        source = by_code.get(local(term(rule["when"])))
        if target is None or source is None:
            continue
        answer = rule["answer"]
        key = "answerBoolean" if isinstance(answer, bool) else "answerInteger" if source["type"] == "integer" else "answerDecimal"
        target.setdefault("enableWhen", []).append(
            {"question": source["linkId"], "operator": rule.get("operator", "="), key: answer}
        )


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The questionnaire, after the R4B model has accepted it (a ValidationError otherwise)."""
    Questionnaire.model_validate(resource)
    return resource


# -- a pathway's questionnaire ----------------------------------------------------------------


def phase_criteria(knowledge: Knowledge, guideline: GuidelineInfo, pathway: PathwayInfo) -> list[CriterionInfo]:
    """The pathway's criteria, then the deciding criteria outside every pathway that apply in its phase."""
    contexts = {
        c.iri for c in knowledge.contexts if c.guideline == guideline.iri and c.phase in (None, pathway.phase, IP.AnyPhase)
    }
    in_pathways = {c for p in knowledge.pathways.get(guideline.iri, []) for c in p.criteria}
    own = [knowledge.criteria[c].cited_for(guideline.iri) for c in pathway.criteria]
    standalone = sorted(
        (
            c.cited_for(guideline.iri)
            for c in knowledge.criteria.values()
            if c.is_deciding and c.iri not in in_pathways and c.target_classes & contexts
        ),
        key=lambda c: c.id,
    )
    return own + standalone


def _asked(knowledge: Knowledge, criterion: CriterionInfo) -> tuple[set[URIRef], set[URIRef]]:
    """The case properties (with a declared domain, neither fixed nor derived) and finding types it reads."""
    ont = knowledge.ontology
    derived = set(ont.subjects(IP.derivedBy, None))
    fixed = {term(t) for t in settings()["request_defining"]}
    props: set[URIRef] = set()
    kinds: set[URIRef] = set()
    for t in terms_read(knowledge, criterion):
        if (t, RDF.type, OWL.DatatypeProperty) in ont or (t, RDF.type, OWL.ObjectProperty) in ont:
            if (
                t not in derived
                and t not in fixed
                and isinstance(ont.value(t, RDFS.domain), URIRef)
                and not _engine_term(knowledge, t)
                and not _links_records(knowledge, t)
            ):
                props.add(t)
        elif IP.FindingType in knowledge.individual_types.get(t, frozenset()):
            kinds.add(t)
    return props, kinds


def _links_records(knowledge: Knowledge, prop: URIRef) -> bool:
    """A property whose values are records (a therapy episode ...): its record is a group of its own."""
    rng = knowledge.ontology.value(prop, RDFS.range)
    return (
        isinstance(rng, URIRef)
        and (prop, RDF.type, OWL.ObjectProperty) in knowledge.ontology
        and not controlled_values(knowledge, rng)
        and rng not in (IP.Criterion, IP.CPTCode)
    )


def _engine_term(knowledge: Knowledge, prop: URIRef) -> bool:
    return (prop, IP.recordedByEngine, Literal(True)) in knowledge.ontology


def pathway_questionnaire(knowledge: Knowledge, guideline: GuidelineInfo, pathway: PathwayInfo) -> dict[str, Any]:
    criteria = phase_criteria(knowledge, guideline, pathway)
    readers: dict[URIRef, list[CriterionInfo]] = defaultdict(list)
    finding_readers: dict[URIRef, list[CriterionInfo]] = defaultdict(list)
    for criterion in criteria:
        props, kinds = _asked(knowledge, criterion)
        for p in props:
            readers[p].append(criterion)
        for k in kinds:
            finding_readers[k].append(criterion)
    by_domain: dict[URIRef, list[URIRef]] = defaultdict(list)
    for prop in readers:
        domain = knowledge.ontology.value(prop, RDFS.domain)
        assert isinstance(domain, URIRef)
        by_domain[domain].append(prop)
    items: list[dict[str, Any]] = []
    singletons = (IP.PriorAuthorizationRequest, IP.Patient)
    for domain in sorted(by_domain, key=lambda d: (d not in singletons, label(knowledge, d))):
        group_id = local(domain)
        children = [
            question(knowledge, f"{group_id}.{local(p)}", p, label(knowledge, p), readers[p])
            for p in sorted(by_domain[domain], key=lambda p: label(knowledge, p))
        ]
        _enable_when(children)
        group: dict[str, Any] = {
            "linkId": group_id,
            "text": settings()["text"]["group"].format(record=label(knowledge, domain)),
            "type": "group",
            "code": [coding(knowledge, domain)],
            "item": children,
        }
        if domain not in singletons:
            group["repeats"] = True
        items.append(group)
    if finding_readers:
        children = [
            {
                **question(
                    knowledge,
                    f"ClinicalFinding.{local(k)}",
                    IP.present,
                    settings()["text"]["finding"].format(finding=label(knowledge, k)),
                    finding_readers[k],
                ),
                "code": [coding(knowledge, k)],
                "type": "boolean",
            }
            for k in sorted(finding_readers, key=lambda k: label(knowledge, k))
        ]
        items.append(
            {"linkId": "ClinicalFinding", "text": label(knowledge, IP.ClinicalFinding), "type": "group", "item": children}
        )
    slug = f"{guideline.number.lower().replace('_', '-')}-{local(pathway.iri).lower()}"
    resource = {
        "resourceType": "Questionnaire",
        "id": slug,
        "url": settings()["pathway_url"] + slug,
        "name": slug.replace("-", "_").upper(),
        "title": f"{guideline.number} {pathway.label}",
        "status": "active",
        "publisher": settings()["publisher"],
        "subjectType": ["Patient"],
        "description": (
            f"The facts the criteria of {local(pathway.iri)} ({guideline.number}: {guideline.title}) read, and those of the "
            "deciding criteria outside the pathways that apply in its phase. Generated from the ontology and the shapes."
        ),
        "code": [coding(knowledge, pathway.iri)],
        "extension": [criterion_extension(c) for c in criteria],
        "item": items,
    }
    return validated(resource)


def pathway_questionnaires(knowledge: Knowledge) -> dict[str, dict[str, Any]]:
    """Every modeled guideline's pathway questionnaires, by file name."""
    result: dict[str, dict[str, Any]] = {}
    for guideline in sorted(knowledge.guidelines.values(), key=lambda g: g.number):
        for pathway in knowledge.pathways.get(guideline.iri, []):
            resource = pathway_questionnaire(knowledge, guideline, pathway)
            result[f"{resource['id']}.json"] = resource
    return result


# -- a pend's missing items -------------------------------------------------------------------


def describe_record(knowledge: Knowledge, case: Graph, node: Node) -> str:
    """A record as a reader knows it: its class, its kind (modality, condition ...) and its date."""
    classes = sorted((t for t in case.objects(node, RDF.type) if isinstance(t, URIRef)), key=str)
    parts = [label(knowledge, classes[0]) if classes else "record"]
    for prop in RECORD_NODE_PROPERTIES:
        value = case.value(node, prop)
        if isinstance(value, URIRef):
            parts.append(label(knowledge, value))
            break
    for prop in RECORD_DATE_PROPERTIES:
        value = case.value(node, prop)
        if isinstance(value, Literal):
            parts.append(f"{label(knowledge, prop)} {value}")
            break
    if isinstance(node, URIRef) and not isinstance(node, BNode) and len(parts) == 1:
        parts.append(str(node))
    return ", ".join(parts)


def record_fields(template: dict[str, Any]) -> list[URIRef]:
    """The properties a questionnaire asks about a new record of the template."""
    if "ask" in template:
        return [term(t) for t in template["ask"]]
    keys: list[str] = []
    for variant in template["variants"]:
        keys.extend(k for k, v in variant.items() if (not str(v).startswith("$") or str(v).startswith("$dos-")) and k not in keys)
    return [term(k) for k in keys]


def repeating_fields(template: dict[str, Any]) -> set[URIRef]:
    """The properties a record of the template holds several values of (a list in a variant)."""
    return {term(k) for variant in template["variants"] for k, v in variant.items() if isinstance(v, list)}


def missing_item(knowledge: Knowledge, case: Graph, item: MissingItem) -> dict[str, Any]:
    unknown: Unknown = item.unknown
    criteria = list(item.criteria)
    text = settings()["text"]
    if unknown.template is not None:
        template = templates()[unknown.template]
        cls = term(template["class"])
        repeating = repeating_fields(template)
        children = [
            question(knowledge, f"{item.link_id}.{local(p)}", p, label(knowledge, p), [])
            | ({"repeats": True} if p in repeating else {})
            for p in record_fields(template)
        ]
        _enable_when(children)
        first = unknown.values[0]
        assert isinstance(first, Records)
        return {
            "linkId": item.link_id,
            "text": text["record"].format(record=label(knowledge, cls)),
            "type": "group",
            "repeats": True,
            "code": [coding(knowledge, unknown.prop), coding(knowledge, cls)],
            "extension": [criterion_extension(c) for c in criteria],
            "item": children,
        }
    if unknown.kind is not None:
        found = question(
            knowledge, item.link_id, IP.present, text["finding"].format(finding=label(knowledge, unknown.kind)), criteria
        )
        return {**found, "type": "boolean", "code": [coding(knowledge, FINDING_LINK[1]), coding(knowledge, unknown.kind)]}
    assert unknown.subject is not None
    return question(
        knowledge,
        item.link_id,
        unknown.prop,
        text["attribute"].format(
            property=label(knowledge, unknown.prop), record=describe_record(knowledge, case, unknown.subject)
        ),
        criteria,
    )


def missing_questionnaire(knowledge: Knowledge, case: Graph, items: list[MissingItem], name: str, title: str) -> dict[str, Any]:
    """The questionnaire of a pend's missing items; ``name`` ends its canonical URL."""
    questions = [missing_item(knowledge, case, item) for item in items]
    _enable_when(questions)  # between attributes of one record only
    _keep_same_record_rules(questions, items)
    criteria = list(dict.fromkeys(c for item in items for c in item.criteria))
    resource = {
        "resourceType": "Questionnaire",
        "id": f"missing-{name}",
        "url": settings()["missing_url"] + name,
        "title": title,
        "status": "active",
        "publisher": settings()["publisher"],
        "subjectType": ["Patient"],
        "description": "Only the documentation this pended request still needs, generated from the criteria that lack it.",
        "extension": [criterion_extension(c) for c in criteria],
        "item": questions,
    }
    return validated(resource)


def _keep_same_record_rules(questions: list[dict[str, Any]], items: list[MissingItem]) -> None:
    """Drop enableWhen links between top-level items about different records."""
    subject = {item.link_id: item.unknown.subject for item in items}
    for q in questions:
        rules = [r for r in q.get("enableWhen", []) if subject.get(r["question"]) == subject.get(q["linkId"])]
        if rules:
            q["enableWhen"] = rules
        else:
            q.pop("enableWhen", None)
