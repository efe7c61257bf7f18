"""The facts a case leaves undocumented that a criterion reads, and their completions.

A criterion's shape names the vocabulary it reads (the ``ip:`` terms of its SPARQL constraints). An
*unknown* is a fact the criterion reads that the case does not record:

- an attribute of a recorded node (a therapy episode without ``ip:failedToRespond``, a pain
  assessment without ``ip:painScore`` ...), whose candidate values come from the property's range
  (booleans, the controlled values of its class, dates before the date of service, numbers from
  ``values.toml``);
- a finding of a type the criterion names that the case does not record at all, which may turn out
  present or documented absent; the unrecorded members of a class of findings the criterion reads
  (an OR list, an at-least-N group) are completed together, all present or all documented absent;
- a date recorded only to the month or year, which may be any day of its interval;
- a record the case does not hold at all (templates), and attributes that only go together (joints).

A property without a declared domain applies to the classes whose case-form shape (``shapes/case-form*.ttl``)
accepts it, and takes the values that shape lists (``sh:in``) where it lists them. ``apply`` makes
the completed case; ``kb.completion.search`` looks for a completion with a wanted status.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kb.completion.reads import shape_text, terms_read
from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP, SH

VALUES_FILE = Path(__file__).with_name("values.toml")
NAMESPACES = {"ip": IP, "xsd": URIRef("http://www.w3.org/2001/XMLSchema#")}
# The conditions a case records are the patient's diagnoses (a diagnosis not recorded is not held),
# so only findings (signs, tests, features) may be missing from a record.
KIND_LINKS = {
    IP.FindingType: (IP.ClinicalFinding, IP.findingType, IP.hasFinding),
}
MAX_VALUES = 8
PARTIAL_DATES = {URIRef("http://www.w3.org/2001/XMLSchema#gYear"), URIRef("http://www.w3.org/2001/XMLSchema#gYearMonth")}


@dataclass(frozen=True)
class Unknown:
    """An attribute ``prop`` of ``subject`` (a recorded node); with ``kind``, a fact of that type (with
    ``members``, one fact of each of these types of the class ``kind``, all with the same value); with
    ``template``, a node linked by ``prop`` (the values are then the indices of the template's variants);
    with ``joint``, attributes of ``subject`` completed together (the values index the joint's variants);
    with ``replaces``, the recorded partial date of ``prop`` refined to one of its days. A completed
    finding carries ``ip:testPositive`` when ``positive_result`` (the criterion reads test results)."""

    subject: Node | None
    prop: URIRef
    values: tuple[Node, ...]
    kind: URIRef | None = None
    template: int | None = None
    members: tuple[URIRef, ...] = ()
    joint: int | None = None
    replaces: Node | None = None
    positive_result: bool = False
    refines: URIRef | None = None

    def describe(self) -> str:
        if self.members:
            return f"the unrecorded {local(self.kind or self.prop)} facts ({', '.join(local(m) for m in self.members)})"
        if self.kind is not None:
            return f"a {local(self.kind)} fact"
        if self.template is not None:
            return f"an {local(self.prop)} record"
        if self.joint is not None:
            return f"{_joint_name(self.joint)} of {self.subject}"
        if self.replaces is not None:
            return f"{local(self.prop)} {self.replaces} of {self.subject} to the day"
        if self.refines is not None:
            return f"the exact {local(self.prop)} of {self.subject} (recorded as a bound, {local(self.refines)})"
        return f"{local(self.prop)} of {self.subject}"


Assignment = Mapping[Unknown, Node]


def local(term: Node) -> str:
    return str(term).split("#")[-1]


@cache
def _settings() -> dict[str, object]:
    with VALUES_FILE.open("rb") as handle:
        return tomllib.load(handle)


def term(text: str) -> URIRef:
    """A prefixed name of the values file (``ip:painScore``, ``xsd:integer``) as an IRI."""
    prefix, _, name = text.partition(":")
    return URIRef(str(NAMESPACES[prefix]) + name)


def _literal(text: str, datatype: URIRef) -> Literal:
    return Literal(text, datatype=datatype)


def _fixed() -> set[Node]:
    fixed = _settings()["fixed"]
    assert isinstance(fixed, list)
    return {term(t) for t in fixed}


def _implied(prop: URIRef) -> list[URIRef]:
    """The properties whose value documents ``prop`` too (values.toml, [implied])."""
    implied = _settings().get("implied", {})
    assert isinstance(implied, dict)
    return [term(t) for t in implied.get(n3(prop), [])]


def _form_facts(knowledge: Knowledge) -> tuple[dict[URIRef, set[URIRef]], dict[URIRef, list[Node]]]:
    """From the case-form shapes: the classes that accept each property, and the values it is limited to."""
    key = id(knowledge.form_shapes)
    if key not in _FORM_FACTS:
        forms = knowledge.form_shapes
        classes: dict[URIRef, set[URIRef]] = {}
        allowed: dict[URIRef, list[Node]] = {}
        for shape, target in forms.subject_objects(SH.targetClass):
            for prop_shape in forms.objects(shape, SH.property):
                path = forms.value(prop_shape, SH.path)
                if not isinstance(path, URIRef) or not isinstance(target, URIRef):
                    continue
                classes.setdefault(path, set()).add(target)
                members = forms.value(prop_shape, SH["in"])
                if members is not None:
                    for value in Collection(forms, members):
                        if value not in allowed.setdefault(path, []):
                            allowed[path].append(value)
        _FORM_FACTS[key] = (classes, allowed)
    return _FORM_FACTS[key]


_FORM_FACTS: dict[int, tuple[dict[URIRef, set[URIRef]], dict[URIRef, list[Node]]]] = {}


def _domains(knowledge: Knowledge, prop: URIRef) -> set[URIRef]:
    """The classes whose nodes may carry ``prop``: its declared domain, else those its case-form shapes target."""
    domain = knowledge.ontology.value(prop, RDFS.domain)
    if isinstance(domain, URIRef):
        return {domain}
    form_domain = _settings().get("form_domain", {})
    assert isinstance(form_domain, dict)
    if n3(prop) in form_domain.get("skip", []):
        return set()
    return _form_facts(knowledge)[0].get(prop, set())


def _region(case: Graph, request: Node) -> str:
    """The requested region's name, the key of the level tables (Lumbar when the request names none)."""
    return local(case.value(request, IP.spinalRegion) or IP.Lumbar)


def _candidates(knowledge: Knowledge, prop: URIRef, dos: dt.date, request: Node, case: Graph) -> tuple[Node, ...]:
    ont = knowledge.ontology
    overrides = _settings()["property"]
    assert isinstance(overrides, dict)
    rng = ont.value(prop, RDFS.range)
    if n3(prop) in overrides:
        datatype = rng if isinstance(rng, URIRef) else URIRef(str(NAMESPACES["xsd"]) + "integer")
        values: list[Node] = []
        levels = _settings()["region_levels"]
        assert isinstance(levels, dict)
        region = _region(case, request)
        for text in overrides[n3(prop)]:
            if text == "$regionLevel":  # a level of the requested region
                values.append(_literal(levels[region], datatype))
            elif text == "$otherRegionLevel":  # a level of another region
                values.append(_literal(next(v for k, v in sorted(levels.items()) if k != region), datatype))
            elif text.startswith("$"):  # a value of the request (its level): the same as requested
                values.extend(case.objects(request, term("ip:" + text[1:])))
            else:
                values.append(_literal(text, datatype))
        return tuple(dict.fromkeys(values))
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
    allowed = _form_facts(knowledge)[1].get(prop)
    if allowed:  # the values the case form lists: every one of them
        return tuple(allowed)
    members = sorted((i for i, classes in knowledge.individual_types.items() if rng in classes), key=str)
    if len(members) > MAX_VALUES:
        step = len(members) / MAX_VALUES
        members = [members[int(i * step)] for i in range(MAX_VALUES)]
    return tuple(members)


def _age_thresholds(text: str) -> set[int]:
    """The ages in years a shape compares an age with (``?age >= 18``, ``?most > 17``)."""
    ages: set[int] = set()
    variables = set(re.findall(r"ip:\w*[Aa]ge\w*\s+\?(\w+)", text))
    for variable in variables:
        for number in re.findall(rf"\?{variable}\s*[<>]=?\s*(\d+)", text):
            ages.add(int(number))
        for number in re.findall(rf"(\d+)\s*[<>]=?\s*\?{variable}\b", text):
            ages.add(int(number))
    return ages


def _birth_dates(dos: dt.date, ages: set[int]) -> list[Literal]:
    """Birth dates giving each age on either side of each threshold on the date of service."""
    day = URIRef(str(NAMESPACES["xsd"]) + "date")
    dates: list[Literal] = []
    for age in sorted(ages):
        for years in (age - 1, age, age + 1):
            birthday = dos.replace(year=dos.year - years, day=min(dos.day, 28))
            dates.append(_literal((birthday - dt.timedelta(days=1)).isoformat(), day))
    return dates


def _interval_days(value: Literal, date_of_service: dt.date | None = None) -> tuple[Literal, ...]:
    """The first and the last day of a date known to the month or year; when the range holds the date of
    service, also the day before it (the last day of the range that a past record can have)."""
    day = URIRef(str(NAMESPACES["xsd"]) + "date")
    text = str(value)
    if value.datatype == URIRef(str(NAMESPACES["xsd"]) + "gYear"):
        year = int(text[:4])
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    else:
        year, month = int(text[:4]), int(text[5:7])
        first = dt.date(year, month, 1)
        last = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
    days = [first, last]
    if date_of_service is not None and first < date_of_service <= last:
        days.insert(1, date_of_service - dt.timedelta(days=1))
    return tuple(_literal(d.isoformat(), day) for d in dict.fromkeys(days))


def _date_of_service(case: Graph) -> dt.date | None:
    value = next((v for v in case.objects(None, IP.dateOfService) if isinstance(v, Literal)), None)
    parsed = value.toPython() if value is not None else None
    return parsed if isinstance(parsed, dt.date) else None


def _local_xsd(term: URIRef) -> str:
    return str(term).rsplit("#", 1)[-1]


def n3(term: URIRef) -> str:
    return f"ip:{local(term)}" if str(term).startswith(str(IP)) else term.n3()


def unknowns(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, further_records: bool = False) -> list[Unknown]:
    """The facts the criterion reads that the case does not record, with their candidate values.

    With ``further_records``, records that the case could add beside those it has (a later pain
    assessment) count too: they can complete a pend, but never undo what is documented.
    """
    ont = knowledge.ontology
    if not _ONTOLOGY:
        _ONTOLOGY.append(ont)
    read = terms_read(knowledge, criterion)
    text = shape_text(knowledge, criterion)
    # A fact that defines the request is still missing documentation where the shape itself asks
    # whether the request states it (`FILTER NOT EXISTS { $this ip:purpose ?p . }`).
    asked = {term("ip:" + n) for n in re.findall(r"FILTER NOT EXISTS \{\s*\$this ip:(\w+) \?\w+\s*\.\s*\}", text)}
    fixed = _fixed() - asked
    derived = set(ont.subjects(IP.derivedBy, None))
    request = next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    dos_literal = case.value(request, IP.dateOfService)
    dos = dos_literal.toPython() if isinstance(dos_literal, Literal) else None
    assert isinstance(dos, dt.date)
    found: list[Unknown] = []
    alternative = _settings().get("alternative", {})
    assert isinstance(alternative, dict)
    properties = sorted(
        (
            p
            for p in read
            if p not in fixed
            and n3(p) not in alternative
            and p not in derived
            and ((p, RDF.type, OWL.DatatypeProperty) in ont or (p, RDF.type, OWL.ObjectProperty) in ont)
        ),
        key=str,
    )
    nodes = sorted({s for s in case.subjects(RDF.type, None)}, key=str)
    ages = _age_thresholds(text)
    recorded_absent = {
        case.value(f, IP.findingType)
        for f in case.subjects(IP.present, Literal(False))
        if case.value(f, IP.findingType) is not None
    }
    only_when = _settings().get("only_when", {})
    in_case = _settings().get("implied_in_case", {})
    assert isinstance(only_when, dict) and isinstance(in_case, dict)
    for prop in properties:
        # A completion does not contradict a documented negative: a value the case records as an absent
        # finding ("balance not impaired") is not a candidate.
        values = tuple(v for v in _candidates(knowledge, prop, dos, request, case) if v not in recorded_absent)
        if prop == IP.birthDate and ages:
            values = tuple(_birth_dates(dos, ages)) + values
        domains = _domains(knowledge, prop)
        if not domains:
            # No declared domain and no case form: the request's own fact when the shape reads it as `$this ip:prop`.
            if values and re.search(rf"\$this\s+ip:{local(prop)}\b", text) and case.value(request, prop) is None:
                found.append(Unknown(request, prop, values))
            continue
        if any(True for other in in_case.get(n3(prop), []) for _ in case.subject_objects(term(other))):
            continue
        condition = {term(k): term(v) for k, v in only_when.get(n3(prop), {}).items()}
        for node in nodes:
            types = {t for t in case.objects(node, RDF.type) if isinstance(t, URIRef)}
            if not domains & knowledge.classes_with_superclasses(types):
                continue
            if any((node, k, v) not in case for k, v in condition.items()):
                continue
            if (
                values
                and case.value(node, prop) is None
                and not any(case.value(node, other) is not None for other in _implied(prop))
            ):
                found.append(Unknown(node, prop, values))
    # A date recorded to the month or year (also of a fact that is otherwise fixed, an episode's end)
    # may be any day of its interval.
    for prop in sorted(read - derived - {IP.dateOfService}, key=str):
        for node, recorded in sorted(case.subject_objects(prop), key=str):
            if isinstance(recorded, Literal) and recorded.datatype in PARTIAL_DATES:
                found.append(Unknown(node, prop, _interval_days(recorded, _date_of_service(case)), replaces=recorded))
    found.extend(_bound_refinements(case, knowledge, read, dos, request))
    found.extend(_joints(case, knowledge, read, nodes, text))
    templates = _settings()["template"]
    assert isinstance(templates, list)
    for index, template in enumerate(templates):
        link = term(template["link"])
        if link not in read:
            continue
        if not all(re.search(rf"{re.escape(t)}(?![\w-])", text) for t in template.get("reads", [])):
            continue
        linked = any(True for _ in case.objects(None, link))
        # The records that match `unless` are the history the criterion reads when its shape names
        # their properties (therapy of the requested region); otherwise any linked record is.
        scoped = "unless" in template and all(re.search(rf"{re.escape(k)}\b", text) for k in _unless_keys(template))
        if scoped and _template_matched(case, knowledge.ontology, template):
            continue
        if (further_records and template.get("when") == "always") or not linked or scoped:
            variants = tuple(Literal(i) for i in range(len(template["variants"])))
            found.append(Unknown(None, link, variants, template=index))
    positive_result = IP.testPositive in read
    kinds, groups = _kinds_read(knowledge, read)
    for kind in kinds:
        if _recorded(case, knowledge, kind):
            continue
        found.append(Unknown(None, IP.findingType, (Literal(True), Literal(False)), kind, positive_result=positive_result))
    for group, members in groups.items():
        unrecorded = tuple(m for m in members if m not in kinds and not _recorded(case, knowledge, m))
        if unrecorded:
            both = (Literal(True), Literal(False))
            found.append(Unknown(None, IP.findingType, both, group, members=unrecorded, positive_result=positive_result))
    return _without_unpursued_entries(case, knowledge, criterion, found)


def _bound_refinements(case: Graph, knowledge: Knowledge, read: set[URIRef], dos: dt.date, request: Node) -> list[Unknown]:
    """The exact value behind each recorded bound ("at least 40 %") of a key property the criterion reads
    (values.toml, [bounds]): the bound itself and the key's candidates that the bound allows."""
    bounds = _settings().get("bounds", {})
    assert isinstance(bounds, dict)
    found: list[Unknown] = []
    for bound_text, spec in sorted(bounds.items()):
        bound, key = term(bound_text), term(spec["key"])
        if key not in read:
            continue
        scale = int(spec.get("scale", 1))
        candidates = _candidates(knowledge, key, dos, request, case)
        for node, recorded in sorted(case.subject_objects(bound), key=str):
            if case.value(node, key) is not None or not isinstance(recorded, Literal):
                continue
            limit = _number(recorded)
            if limit is None:
                continue
            limit *= scale
            datatype = next((c.datatype for c in candidates if isinstance(c, Literal)), recorded.datatype)
            within = [
                c
                for c in candidates
                if isinstance(c, Literal)
                and (n := _number(c)) is not None
                and (n > limit if spec["side"] == "min" else n < limit)
            ]
            values = (Literal(str(limit), datatype=datatype), *within)
            found.append(Unknown(node, key, tuple(dict.fromkeys(values)), refines=bound))
    return found


def _number(value: Literal) -> int | None:
    """A numeric literal as a whole number (a bound or a candidate), or None."""
    python = value.toPython()
    if isinstance(python, bool) or not isinstance(python, (int, float, Decimal)):
        return None
    return int(python)


def _entry_terms(entry: dict[str, list[str]], key: str) -> set[URIRef]:
    return {term(k) for k in entry.get(key, [])}


def _enters(knowledge: Knowledge, kinds: set[URIRef], kind: Node) -> bool:
    """Whether a finding of type ``kind`` is an entry record of ``kinds`` (the type, or one of its classes)."""
    classes = knowledge.individual_types.get(kind, frozenset()) if isinstance(kind, URIRef) else frozenset()
    return kind in kinds or bool(kinds & classes)


def _pursues(case: Graph, knowledge: Knowledge, entry: dict[str, list[str]]) -> bool:
    """Whether the case pursues the pathway of a [[pathway_entry]]: it claims it, or claims nothing and
    holds one of its entry records (a finding recorded absent enters nothing)."""
    claimed = set(case.objects(None, IP.claimedIndication))
    if claimed:
        return bool(claimed & _entry_terms(entry, "claims"))
    kinds = _entry_terms(entry, "kinds")
    for fact, kind in case.subject_objects(IP.findingType):
        absent = (fact, IP.present, Literal(False)) in case or (fact, IP.testPositive, Literal(False)) in case
        if not absent and _enters(knowledge, kinds, kind):
            return True
    return any(True for link in _entry_terms(entry, "links") for _ in case.objects(None, link))


def _without_unpursued_entries(
    case: Graph, knowledge: Knowledge, criterion: CriterionInfo, found: list[Unknown]
) -> list[Unknown]:
    """The unknowns without the entry records of the pathways the case does not pursue, for the criteria
    that decide such a pathway as not met (values.toml, [[pathway_entry]])."""
    entries = _settings().get("pathway_entry", [])
    templates = _settings()["template"]
    assert isinstance(entries, list) and isinstance(templates, list)
    for entry in entries:
        if criterion.id not in entry["criteria"] or _pursues(case, knowledge, entry):
            continue
        kinds, links = _entry_terms(entry, "kinds"), _entry_terms(entry, "links")
        kept: list[Unknown] = []
        for unknown in found:
            if unknown.template is not None and term(templates[unknown.template]["link"]) in links:
                continue
            if unknown.kind is not None and not unknown.members and _enters(knowledge, kinds, unknown.kind):
                continue
            if unknown.members:
                members = tuple(m for m in unknown.members if not _enters(knowledge, kinds, m))
                if unknown.kind in kinds or not members:
                    continue
                unknown = replace(unknown, members=members)
            kept.append(unknown)
        found = kept
    return found


def _recorded(case: Graph, knowledge: Knowledge, kind: URIRef) -> bool:
    """Whether the case documents the finding by the date of service (the shapes do not read a finding
    noted after it): recorded, recorded absent as its group, or of a history (values.toml, [[history]])
    the case records another kind of."""
    dos = case.value(next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest))), IP.dateOfService)
    return (
        any(not _after(case.value(f, IP.diagnosedOn), dos) for f in case.subjects(IP.findingType, kind))
        or group_recorded_absent(case, knowledge, kind)
        or _history_recorded(case, kind)
    )


def _after(day: Node | None, dos: Node | None) -> bool:
    """Whether a recorded date (a day, month or year) lies wholly after the date of service."""
    if not isinstance(day, Literal) or not isinstance(dos, Literal):
        return False
    return str(day) > str(dos)[: len(str(day))]


def _history_recorded(case: Graph, kind: URIRef) -> bool:
    histories = _settings().get("history", [])
    assert isinstance(histories, list)
    for history in histories:
        kinds = {term(k) for k in history["kinds"]}
        if kind in kinds and any(True for k in kinds for _ in case.subjects(IP.findingType, k)):
            return True
    return False


def _documented(case: Graph, node: Node, prop: URIRef) -> bool:
    """Whether the node records ``prop``, or a property that documents it too ([implied])."""
    return case.value(node, prop) is not None or any(case.value(node, other) is not None for other in _implied(prop))


def _joint_name(index: int) -> str:
    joints = _settings()["joint"]
    assert isinstance(joints, list)
    return str(joints[index]["name"])


def _joints(case: Graph, knowledge: Knowledge, read: set[URIRef], nodes: list[Node], text: str) -> list[Unknown]:
    """Attributes that only go together (values.toml, [[joint]]), on the nodes they fit; a joint with
    ``reads`` only for a shape that names each of those terms."""
    joints = _settings().get("joint", [])
    assert isinstance(joints, list)
    found: list[Unknown] = []
    for index, joint in enumerate(joints):
        props = {term(k) for variant in joint["variants"] for k in variant}
        if not props & read:
            continue
        if not all(re.search(rf"{re.escape(r)}(?![\w-])", text) for r in joint.get("reads", [])):
            continue
        cls = term(joint["class"])
        condition = {term(k): term(v) for k, v in joint.get("when", {}).items()}
        for node in nodes:
            types = {t for t in case.objects(node, RDF.type) if isinstance(t, URIRef)}
            if cls not in knowledge.classes_with_superclasses(types):
                continue
            if any((node, k, v) not in case for k, v in condition.items()):
                continue
            if all(_documented(case, node, p) for p in props):
                continue
            variants = tuple(Literal(i) for i in range(len(joint["variants"])))
            found.append(Unknown(node, term(joint["key"]), variants, joint=index))
    return found


def group_recorded_absent(case: Graph, knowledge: Knowledge, kind: URIRef) -> bool:
    """Whether the case records as absent the sign a listed sub-item counts as (ip:countsAsSign):
    "trophic changes: none" documents each listed trophic change (nail changes ...) as absent too."""
    for group in knowledge.ontology.objects(kind, IP.countsAsSign):
        if group == kind:
            continue
        for fact in case.subjects(IP.findingType, group):
            if (fact, IP.present, Literal(False)) in case or (fact, IP.testPositive, Literal(False)) in case:
                return True
    return False


def _kinds_read(knowledge: Knowledge, read: set[URIRef]) -> tuple[list[URIRef], dict[URIRef, list[URIRef]]]:
    """The finding types the criterion names one by one, and the classes of finding types it reads with their members."""
    kinds: set[URIRef] = set()
    groups: dict[URIRef, list[URIRef]] = {}
    for read_term in read:
        classes = knowledge.individual_types.get(read_term, frozenset())
        if any(c in classes for c in KIND_LINKS):
            kinds.add(read_term)
            continue
        if (read_term, RDF.type, OWL.Class) in knowledge.ontology:
            # A class of finding types (or one whose members are finding types).
            members = sorted(
                (i for i, cs in knowledge.individual_types.items() if read_term in cs and any(c in cs for c in KIND_LINKS)),
                key=str,
            )
            if members:
                groups[read_term] = members
    return sorted(kinds, key=str), dict(sorted(groups.items()))


def apply(case: Graph, assignment: Assignment) -> Graph:
    """A copy of the case with the unknowns given values (a new fact for a kind, a new record for a template).

    Templates come last: one with ``unless`` adds its record only when the completed case has no
    linked record that matches it (a therapy episode targeting the requested region).
    """
    result = Graph()
    for triple in case:
        result.add(triple)
    patient = next(iter(case.subjects(RDF.type, IP.Patient)))
    ordered = sorted(assignment.items(), key=lambda item: item[0].template is not None)
    for unknown, value in ordered:
        if unknown.template is not None:
            _add_template(result, knowledge_ontology(), patient, unknown.template, _index(value))
            continue
        if unknown.joint is not None:
            _add_joint(result, unknown, _index(value))
            continue
        if unknown.kind is None:
            assert unknown.subject is not None
            if unknown.replaces is not None:
                result.remove((unknown.subject, unknown.prop, unknown.replaces))
            result.add((unknown.subject, unknown.prop, value))
            continue
        for kind in unknown.members or (unknown.kind,):
            fact_class, kind_prop, link = KIND_LINKS[IP.FindingType]
            fact = BNode()
            result.add((patient, link, fact))
            result.add((fact, RDF.type, fact_class))
            result.add((fact, kind_prop, kind))
            if value == Literal(False):
                result.add((fact, IP.present, Literal(False)))
            elif unknown.positive_result:
                result.add((fact, IP.testPositive, Literal(True)))
    return result


_ONTOLOGY: list[Graph] = []


def _index(value: Node) -> int:
    assert isinstance(value, Literal)
    index = value.toPython()
    assert isinstance(index, int)
    return index


def knowledge_ontology() -> Graph:
    """The ontology graph (ranges of template values); set by ``unknowns``."""
    return _ONTOLOGY[0]


def _value(case: Graph, ontology: Graph, request: Node, prop: URIRef, text: str) -> Node:
    """A template value: "$region" the requested region, "$dos-N" N days before the date of service, a term, or a literal."""
    if text == "$region":
        region = case.value(request, IP.spinalRegion)
        assert region is not None
        return region
    if text in ("$regionLevel", "$nextRegionLevel"):  # a level of the requested region
        levels = _settings()["region_levels" if text == "$regionLevel" else "next_region_levels"]
        assert isinstance(levels, dict)
        return Literal(levels[_region(case, request)])
    if text.startswith("$dos-"):
        dos_literal = case.value(request, IP.dateOfService)
        assert isinstance(dos_literal, Literal)
        dos = dos_literal.toPython()
        return Literal((dos - dt.timedelta(days=int(text[5:]))).isoformat(), datatype=NAMESPACES["xsd"] + "date")
    if text.startswith("ip:"):
        return term(text)
    rng = ontology.value(prop, RDFS.range)
    return Literal(text, datatype=rng if isinstance(rng, URIRef) else None)


def _add_joint(case: Graph, unknown: Unknown, variant: int) -> None:
    joints = _settings()["joint"]
    assert isinstance(joints, list) and unknown.subject is not None
    request = next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    for key, texts in joints[unknown.joint or 0]["variants"][variant].items():
        prop = term(key)
        if not _documented(case, unknown.subject, prop):
            for text in texts if isinstance(texts, list) else [texts]:
                case.add((unknown.subject, prop, _value(case, knowledge_ontology(), request, prop, text)))


def _owner(case: Graph, ontology: Graph, link: URIRef) -> Node:
    """The node a template's record hangs off: the request when the link's domain is the request, else the patient."""
    if ontology.value(link, RDFS.domain) == IP.PriorAuthorizationRequest:
        return next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    return next(iter(case.subjects(RDF.type, IP.Patient)))


def _unless_patterns(template: dict[str, object]) -> list[dict[str, str]]:
    """The template's ``unless``: one pattern of values, or a list of patterns any of which suffices."""
    unless = template["unless"]
    patterns: list[dict[str, str]] = []
    for pattern in unless if isinstance(unless, list) else [unless]:
        assert isinstance(pattern, dict)
        patterns.append(pattern)
    return patterns


def _unless_keys(template: dict[str, object]) -> set[str]:
    return {k for pattern in _unless_patterns(template) for k in pattern}


def _template_matched(case: Graph, ontology: Graph, template: dict[str, object]) -> bool:
    """Whether a linked record of the case matches one of the template's ``unless`` patterns (then no record is added)."""
    request = next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    assert isinstance(template["link"], str)
    owner = _owner(case, ontology, term(template["link"]))
    records = list(case.objects(owner, term(template["link"])))
    for pattern in _unless_patterns(template):
        wanted = {term(k): _value(case, ontology, request, term(k), v) for k, v in pattern.items()}
        if any(all((node, k, v) in case for k, v in wanted.items()) for node in records):
            return True
    return False


def _add_template(case: Graph, ontology: Graph, patient: Node, index: int, variant: int) -> None:
    templates = _settings()["template"]
    assert isinstance(templates, list)
    template = templates[index]
    request = next(iter(case.subjects(RDF.type, IP.PriorAuthorizationRequest)))
    link = term(template["link"])
    owner = _owner(case, ontology, link)
    if "unless" in template and _template_matched(case, ontology, template):
        return
    node = BNode()
    case.add((owner, link, node))
    case.add((node, RDF.type, term(template["class"])))
    for key, texts in template["variants"][variant].items():
        prop = term(key)
        for text in texts if isinstance(texts, list) else [texts]:
            case.add((node, prop, _value(case, ontology, request, prop, text)))
