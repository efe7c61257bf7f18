"""A case graph -> a PAS Request Bundle, by the same mapping tables read backwards.

Nodes of a class a table profiles (conditions, pain assessments, findings, procedures, medication
courses) become resources; every fact no table row carries goes into the case-facts
QuestionnaireResponse. ``map_bundle`` of the result gives back the same facts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.fhir.paths import put
from kb.fhir.questionnaire import property_items
from kb.fhir.tables import Element, Profile, ResourceTable, load_tables
from kb.fhir.terminology import Terminology, curie, load_terminology
from kb.namespaces import IP

IDENTIFIER_SYSTEM = "https://w3id.org/ipkg/fhir/example-claims"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
PAS_REQUEST_BUNDLE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-request-bundle"
FULL_URL_BASE = "https://example.org/fhir/"
PAS_CLAIM = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claim"


def export_case(graph: Graph, name: str) -> dict[str, Any]:
    """The PAS Request Bundle of a case; ``name`` gives the claim identifier and resource ids."""
    tables = load_tables()
    terminology = load_terminology()
    request = graph.value(predicate=RDF.type, object=IP.PriorAuthorizationRequest)
    assert isinstance(request, URIRef), "a case has one request IRI"
    patient = graph.value(request, IP.forPatient)
    assert patient is not None
    writer = _Writer(graph, terminology, tables, name)
    patient_json = writer.resource("Patient", patient, tables["Patient"].profiles[0], f"{name}-patient")
    state = graph.value(request, IP.memberState)
    if state is not None:
        patient_json.setdefault("address", []).append({"state": str(state)})
        writer.done.add((request, IP.memberState, state))
    clinical: list[dict[str, Any]] = []
    for prop, child in sorted(graph.predicate_objects(patient), key=lambda po: (str(po[0]), writer.order(po[1]))):
        if prop == RDF.type or (patient, prop, child) in writer.done:
            continue
        profile, table = writer.profile_of(child)
        if profile is None or table is None:
            continue
        n = len(clinical) + 1
        resource = writer.resource(table.resource, child, profile, f"{name}-{table.resource.lower()}-{n}")
        resource["subject"] = {"reference": f"Patient/{name}-patient"}
        writer.done.add((patient, prop, child))
        clinical.append(resource)
    claim = writer.claim(request, patient, clinical)
    qr = writer.questionnaire(request, patient, tables["QuestionnaireResponse"])
    resources = [claim, patient_json, *clinical, *writer.support(), *([qr] if qr["item"] else [])]
    return {
        "resourceType": "Bundle",
        "id": f"{name}-request",
        "meta": {"profile": [PAS_REQUEST_BUNDLE]},
        "identifier": {"system": IDENTIFIER_SYSTEM, "value": f"{name}-bundle"},
        "type": "collection",
        "timestamp": f"{claim['created']}T09:00:00Z",
        "entry": [{"fullUrl": f"{FULL_URL_BASE}{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


class _Writer:
    def __init__(self, graph: Graph, terminology: Terminology, tables: dict[str, ResourceTable], name: str) -> None:
        self.graph = graph
        self.terminology = terminology
        self.tables = tables
        self.name = name
        self.done: set[tuple[Node, Node, Node]] = set()
        self.ids: dict[Node, str] = {}

    def order(self, node: Node) -> str:
        if isinstance(node, BNode):
            return " ".join(sorted(f"{p} {o}" for p, o in self.graph.predicate_objects(node) if not isinstance(o, BNode)))
        return str(node)

    def profile_of(self, node: Node) -> tuple[Profile | None, ResourceTable | None]:
        cls = self.graph.value(node, RDF.type)
        for table in self.tables.values():
            if not table.settings.get("export", True):
                continue
            for profile in table.profiles:
                if not profile.cls or curie(profile.cls) != cls:
                    continue
                if profile.selects and self.graph.value(node, curie(profile.selects)) is None:
                    continue
                return profile, table
        return None, None

    def resource(self, kind: str, node: Node, profile: Profile, rid: str) -> dict[str, Any]:
        self.ids[node] = f"{kind}/{rid}"
        out: dict[str, Any] = {"resourceType": kind, "id": rid}
        out.update(self.tables[kind].settings["template"])
        if profile.term:
            put(out, profile.selector, self.terminology.coding(curie(profile.term)).as_json())
        written: set[str] = set()
        for element in profile.elements:
            if not element.property or element.scope != "node" or element.property in written:
                continue
            prop = curie(element.property)
            for value in sorted(self.graph.objects(node, prop), key=str):
                rendered = self.render(element, value)
                if rendered is None:
                    continue
                put(out, element.path, rendered)
                self.done.add((node, prop, value))
                written.add(element.property)
        self.done.add((node, RDF.type, self.graph.value(node, RDF.type) or RDF.nil))
        return out

    def render(self, element: Element, value: Node) -> Any:
        if element.kind == "date":
            return str(value)
        if element.kind in ("integer", "boolean", "string"):
            return value.toPython() if isinstance(value, Literal) else None
        if element.kind == "code":
            return self.terminology.coding(value).as_json() if isinstance(value, URIRef) else None
        if element.kind == "map":
            for code, mapped in element.values.items():
                target = Literal(mapped) if isinstance(mapped, bool) else curie(mapped)
                if value == target:
                    return {"system": element.systems[0], "code": code}
        return None

    def claim(self, request: URIRef, patient: Node, clinical: list[dict[str, Any]]) -> dict[str, Any]:
        graph = self.graph
        self.ids[request] = f"Claim/{self.name}"
        dos = graph.value(request, IP.dateOfService)
        region = graph.value(request, IP.spinalRegion)
        lines = sorted(
            graph.objects(request, IP.hasServiceLine), key=lambda n: (_number(graph.value(n, IP.lineNumber)), self.order(n))
        )
        items = []
        table = self.tables["Claim"].profiles[0]
        for number, node in enumerate(lines or [request], start=1):
            item: dict[str, Any] = {"sequence": _number(graph.value(node, IP.lineNumber)) or number}
            for element in table.elements:
                if not element.path.startswith("item[].") or element.property in ("ip:lineNumber",):
                    continue
                if element.scope == "line" and not lines:
                    continue
                subject = request if element.scope == "request" else node
                if element.path == "item[].servicedPeriod.start":
                    continue
                prop = curie(element.property)
                for value in sorted(graph.objects(subject, prop), key=str):
                    rendered = self.render(element, value)
                    if rendered is None:
                        continue
                    path = element.path.removeprefix("item[].")
                    if element.property == "ip:side" and element.kind == "code" and value != IP.Midline:
                        continue
                    put(item, path, rendered)
                    self.done.add((subject, prop, value))
            items.append(item)
        if len(lines) == 1 and "quantity" not in items[0]:
            units = graph.value(lines[0], IP.units)
            if units is not None:
                items[0]["quantity"] = {"value": _number(units)}
        for node in lines:
            self.done.add((request, IP.hasServiceLine, node))
            self.done.add((node, RDF.type, IP.ServiceLine))
            self.done.add((node, IP.lineNumber, graph.value(node, IP.lineNumber) or RDF.nil))
        self.done.add((request, RDF.type, IP.PriorAuthorizationRequest))
        self.done.add((request, IP.forPatient, patient))
        self.done.add((request, IP.dateOfService, dos or RDF.nil))
        self.done.add((request, IP.spinalRegion, region or RDF.nil))
        conditions = [r for r in clinical if r["resourceType"] == "Condition"]
        return {
            "resourceType": "Claim",
            "id": self.name,
            "meta": {"profile": [PAS_CLAIM]},
            "identifier": [{"system": IDENTIFIER_SYSTEM, "value": self.name}],
            "status": "active",
            "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
            "use": "preauthorization",
            "patient": {"reference": f"Patient/{self.name}-patient"},
            "created": self.created(dos),
            "insurer": {"reference": f"Organization/{self.name}-payer"},
            "provider": {"reference": f"Organization/{self.name}-provider"},
            "priority": {"coding": [{"system": PRIORITY, "code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{self.name}-coverage"}}],
            **(
                {
                    "diagnosis": [
                        {"sequence": i, "diagnosisReference": {"reference": f"Condition/{c['id']}"}}
                        for i, c in enumerate(conditions, start=1)
                    ]
                }
                if conditions
                else {}
            ),
            "item": items,
        }

    def created(self, dos: Node | None) -> str:
        """The request date: the latest clinical date of the case, else the date of service."""
        days = [
            _day(o)
            for s, p, o in self.graph
            if isinstance(o, Literal) and o.datatype in (XSD.date, XSD.gYearMonth, XSD.gYear) and p != IP.dateOfService
        ]
        if not days:
            return str(dos)
        return max(days).isoformat()

    def support(self) -> list[dict[str, Any]]:
        return [
            {"resourceType": "Organization", "id": f"{self.name}-payer", "name": "Example payer"},
            {"resourceType": "Organization", "id": f"{self.name}-provider", "name": "Example provider"},
            {
                "resourceType": "Coverage",
                "id": f"{self.name}-coverage",
                "status": "active",
                "beneficiary": {"reference": f"Patient/{self.name}-patient"},
                "payor": [{"reference": f"Organization/{self.name}-payer"}],
            },
        ]

    def questionnaire(self, request: URIRef, patient: Node, table: ResourceTable) -> dict[str, Any]:
        answer_types: dict[str, str] = table.settings["answer"]
        items = []
        for node, reference in self.ids.items():
            remaining = [(p, o) for p, o in self.graph.predicate_objects(node) if (node, p, o) not in self.done and p != RDF.type]
            if not remaining:
                continue
            sub = Graph()
            for p, o in remaining:
                sub.add((node, p, o))
                _copy_below(self.graph, o, sub)
            props = property_items(sub, node, {RDF.type}, answer_types, table.settings["prefixes"])
            items.append({"linkId": reference, "item": props})
        items.sort(key=lambda i: str(i["linkId"]))
        return {
            "resourceType": "QuestionnaireResponse",
            "id": f"{self.name}-facts",
            "questionnaire": table.settings["questionnaire"],
            "status": "completed",
            "subject": {"reference": f"Patient/{self.name}-patient"},
            "item": items,
        }


def _number(value: Node | None) -> int:
    return int(value.toPython()) if isinstance(value, Literal) else 0


def _copy_below(graph: Graph, node: Node, into: Graph) -> None:
    if not isinstance(node, BNode):
        return
    for p, o in graph.predicate_objects(node):
        into.add((node, p, o))
        _copy_below(graph, o, into)


def _day(value: Literal) -> dt.date:
    text = str(value)
    if len(text) == 4:
        return dt.date(int(text), 12, 31)
    if len(text) == 7:
        first = dt.date.fromisoformat(text + "-01")
        return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return dt.date.fromisoformat(text[:10])
