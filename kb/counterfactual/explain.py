"""Counterfactual explanations: the smallest sets of changes to a case's facts that would approve it.

For a denial or a pend, each failing criterion of an evaluated pathway (and each failing criterion
outside the pathways) is searched for single changes that meet it, validating that criterion's shape
alone: a value for a fact the case leaves undocumented (``kb.questionnaire.facts``), a new record or
finding, or another value for a documented fact the criterion reads (a date moved by the fewest days,
a value of the property's range). Changes for every failing criterion of one pathway are then put
together, and the changed case is decided in full: only a set that approves it is reported
(``verified``). Sets are listed smallest first.

Some outcomes have no such change, and the explanation says why instead: a contraindication that is
present, an exclusion, a frequency or interval limit (only time changes it: the date of service is the
request's own), a clinical-review rule. The search is bounded by a number of evaluations and a time
limit; when it ends without a verified set, the explanation says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from kb.counterfactual.diagnoses import bound_to_diagnoses
from kb.engine import determine_graph
from kb.errors import KnowledgeGraphError
from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP
from kb.pipeline.determination import APPROVED, DENIED, EXCLUDED, NOT_MET, PENDED, Determination
from kb.pipeline.determination import MET as STATUS_MET
from kb.questionnaire.facts import (
    Records,
    Unknown,
    Value,
    apply_one,
    candidates,
    copy_graph,
    date_of_service,
    fixed_properties,
    local,
    term,
    unknowns,
)
from kb.questionnaire.fhir import describe_record, label
from kb.questionnaire.fhir import settings as questionnaire_settings
from kb.questionnaire.reads import named_terms, terms_read
from kb.questionnaire.search import MET, Budget, criterion_status

DATE_SHIFTS = (1, 7, 14, 30, 60, 90, 180, 365)
MAX_CHANGES_PER_CRITERION = 2
MAX_COUNTERFACTUALS = 3
NO_CHANGE_REASONS = {
    IP.ContraindicationPresent: (
        "contraindication",
        "A contraindication is present; no other documentation makes the request approvable while it is.",
    ),
    IP.FrequencyOrIntervalLimit: (
        "frequency-or-interval-limit",
        "A frequency or interval limit is not met; only time changes it (the date of service is the request's own).",
    ),
    IP.ExcludedFromGuideline: ("excluded", "The procedure is excluded from the guideline; no documentation changes that."),
    IP.ClinicalReviewRequired: (
        "clinical-review",
        "A clinical reviewer decides this request; it is never approved automatically.",
    ),
}


@dataclass(frozen=True)
class Change:
    kind: str  # "document" (an undocumented fact), "add" (a record or finding), "change" (a documented value)
    subject: Node
    prop: URIRef
    before: Node | None
    after: Value
    text: str
    unknown: Unknown | None = None

    def apply(self, graph: Graph) -> None:
        if self.unknown is not None:
            apply_one(graph, self.unknown, self.after)
            return
        assert not isinstance(self.after, Records)
        if self.before is not None:
            graph.remove((self.subject, self.prop, self.before))
        graph.add((self.subject, self.prop, self.after))

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "property": f"ip:{local(self.prop)}",
            "subject": str(self.subject) if isinstance(self.subject, URIRef) else None,
            "from": _shown(self.before),
            "to": _shown(self.after),
            "text": self.text,
        }


@dataclass(frozen=True)
class Counterfactual:
    changes: tuple[Change, ...]
    outcome: str
    pathway: URIRef | None
    criteria: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "changes": [c.as_json() for c in self.changes],
            "outcome": self.outcome,
            "pathway": f"ip:{local(self.pathway)}" if self.pathway is not None else None,
            "criteria": list(self.criteria),
            "verified": True,
        }


@dataclass
class Explanation:
    counterfactuals: list[Counterfactual] = field(default_factory=list)
    reason: str | None = None
    reason_text: str | None = None
    evaluations: int = 0
    complete: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "counterfactuals": [c.as_json() for c in self.counterfactuals],
            "noCounterfactualReason": self.reason,
            "noCounterfactualText": self.reason_text,
            "evaluations": self.evaluations,
            "searchComplete": self.complete,
        }

    def add_to(self, graph: Graph, node: URIRef) -> None:
        for index, cf in enumerate(self.counterfactuals, 1):
            cf_node = URIRef(f"{node}/counterfactual-{index}")
            graph.add((node, IP.hasCounterfactual, cf_node))
            graph.add((cf_node, RDF.type, IP.Counterfactual))
            graph.add((cf_node, IP.counterfactualOutcome, IP.Approved))
            graph.add((cf_node, IP.changeCount, Literal(len(cf.changes), datatype=XSD.integer)))
            if cf.pathway is not None:
                graph.add((cf_node, IP.counterfactualPathway, cf.pathway))
            for c_index, change in enumerate(cf.changes, 1):
                ch = URIRef(f"{cf_node}/change-{c_index}")
                graph.add((cf_node, IP.hasFactChange, ch))
                graph.add((ch, RDF.type, IP.FactChange))
                graph.add((ch, IP.changedProperty, change.prop))
                graph.add((ch, IP.changeKind, Literal(change.kind)))
                graph.add((ch, IP.changeText, Literal(change.text)))
                if isinstance(change.subject, URIRef):
                    graph.add((ch, IP.changedRecord, change.subject))
                shown = _shown(change.after)
                if shown is not None:
                    graph.add((ch, IP.proposedValue, Literal(shown)))
        if self.reason is not None:
            graph.add((node, IP.noCounterfactualReason, Literal(self.reason)))
            graph.add((node, IP.noCounterfactualText, Literal(self.reason_text or "")))

    def summary_lines(self) -> list[str]:
        lines = []
        if self.counterfactuals:
            lines.append("  would be approved with:")
            for index, cf in enumerate(self.counterfactuals, 1):
                lines.append(f"    {index}. " + "; ".join(c.text for c in cf.changes))
        if self.reason_text:
            lines.append(f"  no counterfactual: {self.reason_text}")
        return lines


def _shown(value: Value | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Records):
        return f"{len(value.records)} new record(s)"
    return f"ip:{local(value)}" if isinstance(value, URIRef) else str(value)


def _decide(graph: Graph, knowledge: Knowledge) -> Determination | None:
    try:
        return determine_graph(copy_graph(graph), "<counterfactual>", knowledge)
    except KnowledgeGraphError:
        return None


# -- the changes a criterion could take ---------------------------------------------------------


def _unknown_changes(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, records_only: bool) -> list[Change]:
    """Values for undocumented facts; for a criterion that is not met, only new records and findings
    (no value of an undocumented attribute meets it: "not met" holds under every completion)."""
    changes = []
    for unknown in unknowns(case, knowledge, criterion, further_records=True):
        if records_only and unknown.template is None and unknown.kind is None:
            continue
        for value in unknown.values:
            changes.append(_unknown_change(case, knowledge, unknown, value))
    return changes


def _unknown_change(case: Graph, knowledge: Knowledge, unknown: Unknown, value: Value) -> Change:
    assert unknown.subject is not None
    if unknown.template is not None:
        assert isinstance(value, Records)
        fields = ", ".join(f"{label(knowledge, p)} {_shown(v)}" for p, v in value.records[0])
        text = f"a documented {label(knowledge, unknown.prop)} record ({fields})"
        if len(value.records) > 1:
            text = f"{len(value.records)} documented {label(knowledge, unknown.prop)} records ({fields})"
        return Change("add", unknown.subject, unknown.prop, None, value, text, unknown)
    if unknown.kind is not None:
        state = "present" if value == Literal(True) else "documented absent"
        return Change("add", unknown.subject, unknown.prop, None, value, f"{label(knowledge, unknown.kind)} {state}", unknown)
    record = describe_record(knowledge, case, unknown.subject)
    text = f"{label(knowledge, unknown.prop)} documented as {_shown(value)} ({record})"
    return Change("document", unknown.subject, unknown.prop, None, value, text, unknown)


def _documented_changes(case: Graph, knowledge: Knowledge, criterion: CriterionInfo) -> list[Change]:
    """Other values for the documented facts the criterion reads (dates by the fewest days first)."""
    ont = knowledge.ontology
    fixed = fixed_properties()
    derived = set(ont.subjects(IP.derivedBy, None))
    dos = date_of_service(case)
    changes: list[Change] = []
    read = sorted(
        (
            p
            for p in terms_read(knowledge, criterion)
            if p not in fixed
            and p not in derived
            and ((p, RDF.type, OWL.DatatypeProperty) in ont or (p, RDF.type, OWL.ObjectProperty) in ont)
            and (p, IP.recordedByEngine, Literal(True)) not in ont
        ),
        key=str,
    )
    for prop in read:
        rng = ont.value(prop, RDFS.range)
        for subject, before in sorted(case.subject_objects(prop), key=str):
            if (subject, RDF.type, IP.PriorAuthorizationRequest) in case and prop in (IP.forPatient,):
                continue
            record = describe_record(knowledge, case, subject)
            if rng in (XSD.date, IP.RecordedDate) and isinstance(before, Literal) and isinstance(before.toPython(), dt.date):
                day = before.toPython()
                for shift in DATE_SHIFTS:
                    for sign, word in ((-1, "earlier"), (1, "later")):
                        moved = day + dt.timedelta(days=sign * shift)
                        if moved > dos:
                            continue
                        after = Literal(moved.isoformat(), datatype=XSD.date)
                        days = f"{shift} day{'s' if shift > 1 else ''} {word}"
                        text = f"{label(knowledge, prop)} {days}: {moved} instead of {day} ({record})"
                        changes.append(Change("change", subject, prop, before, after, text))
                for other in candidates(knowledge, prop, dos):
                    if other != before and not any(c.after == other and c.subject == subject for c in changes):
                        text = f"{label(knowledge, prop)} {other} instead of {day} ({record})"
                        changes.append(Change("change", subject, prop, before, other, text))
                continue
            for value in candidates(knowledge, prop, dos):
                if value == before:
                    continue
                text = f"{label(knowledge, prop)} {_shown(value)} instead of {_shown(before)} ({record})"
                changes.append(Change("change", subject, prop, before, value, text))
    # Dates by the size of the shift, interleaved with the other changes in their order.
    return changes


def _negatives_reversed(case: Graph, knowledge: Knowledge, criterion: CriterionInfo) -> list[Change]:
    """A documented negative (``ip:present false``) of a fact whose type the criterion reads, recorded
    present instead: "allodynia present" where the record says it is absent."""
    read = terms_read(knowledge, criterion)
    changes = []
    for subject in sorted(case.subjects(IP.present, Literal(False)), key=str):
        kind = case.value(subject, IP.findingType) or case.value(subject, IP.conditionType)
        if not isinstance(kind, URIRef) or not (kind in read or knowledge.individual_types.get(kind, frozenset()) & read):
            continue
        text = f"{label(knowledge, kind)} present instead of documented absent ({describe_record(knowledge, case, subject)})"
        changes.append(Change("change", subject, IP.present, Literal(False), Literal(True), text))
    return changes


def _reads_only_the_request(knowledge: Knowledge, criterion: CriterionInfo) -> bool:
    """Whether every case fact the criterion reads defines the request (its code, region, purpose, member
    state, date of service ...: questionnaire.toml, ``request_defining``). Facts about the ontology's
    own terms (what a CPT code codes) are the knowledge's, not the case's."""
    ont = knowledge.ontology
    defining = {term(t) for t in questionnaire_settings()["request_defining"]}
    derived = set(ont.subjects(IP.derivedBy, None))
    term_classes = {cls for classes in knowledge.individual_types.values() for cls in classes}
    read = {
        p
        for p in terms_read(knowledge, criterion)
        if ((p, RDF.type, OWL.DatatypeProperty) in ont or (p, RDF.type, OWL.ObjectProperty) in ont)
        and p not in derived
        and (p, IP.recordedByEngine, Literal(True)) not in ont
        and ont.value(p, RDFS.domain) not in term_classes
    }
    return read <= defining


def _is_date(value: Node) -> bool:
    return isinstance(value, Literal) and isinstance(value.toPython(), dt.date)


def _candidates(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, status: str) -> list[Change]:
    """The single changes tried for a failing criterion, in order: for an undocumented one, values of
    what it lacks first; for one that is not met, its documented negatives reversed, other values of the
    documented facts (values before dates, those its shape names first), then new records."""
    documented = _documented_changes(case, knowledge, criterion)
    named = named_terms(knowledge, criterion)
    # Values before dates, the properties the shape names before the others; stable, so dates stay in
    # order of the fewest days.
    documented.sort(key=lambda c: (c.before is not None and _is_date(c.before), c.prop not in named))
    if status == NOT_MET:
        negatives = _negatives_reversed(case, knowledge, criterion)
        return [*negatives, *documented, *_unknown_changes(case, knowledge, criterion, records_only=True)]
    return [*_unknown_changes(case, knowledge, criterion, records_only=False), *documented]


def _fixes(case: Graph, knowledge: Knowledge, criterion: CriterionInfo, ordered: list[Change], budget: Budget) -> list[Change]:
    """Up to MAX_CHANGES_PER_CRITERION of the candidate changes that meet the criterion on their own."""
    evaluate = partial(criterion_status, knowledge=knowledge, criterion=criterion)
    found: list[Change] = []
    for change in ordered:
        if len(found) >= MAX_CHANGES_PER_CRITERION or not budget.spend():
            break
        graph = copy_graph(case)
        change.apply(graph)
        if evaluate(graph) == MET:
            found.append(change)
    return found


# -- putting them together -------------------------------------------------------------------------


def _targets(det: Determination, knowledge: Knowledge) -> list[tuple[URIRef | None, list[CriterionInfo]]]:
    """For each evaluated pathway that is not met, its failing criteria with the failing ones outside the
    pathways; without pathways, the failing criteria outside them."""
    failing = {r.criterion.iri: r.criterion for r in det.results if r.criterion.is_deciding and r.status != STATUS_MET}
    in_pathways = {c for p in knowledge.pathways.get(det.guideline, []) for c in p.criteria}
    standalone = [c for iri, c in failing.items() if iri not in in_pathways]
    groups: list[tuple[URIRef | None, list[CriterionInfo]]] = []
    for pr in det.pathways:
        own = [failing[c] for c in pr.pathway.criteria if c in failing]
        groups.append((pr.pathway.iri, own + standalone))
    if not groups:
        groups.append((None, standalone))
    return sorted(groups, key=lambda g: len(g[1]))


def explain(case: Graph, det: Determination, knowledge: Knowledge, evaluations: int = 120, seconds: float = 20.0) -> Explanation:
    """Counterfactuals for a denied or pended determination of ``case`` (the case as submitted)."""
    if det.outcome == APPROVED:
        return Explanation()
    for category, (reason, text) in NO_CHANGE_REASONS.items():
        if category in det.reason_categories:
            return Explanation(reason=reason, reason_text=text)
    if det.outcome == EXCLUDED:  # pragma: no cover - an exclusion always has its reason category
        reason, text = NO_CHANGE_REASONS[IP.ExcludedFromGuideline]
        return Explanation(reason=reason, reason_text=text)
    assert det.outcome in (DENIED, PENDED), det.outcome
    budget = Budget(evaluations, seconds)
    statuses = {r.criterion.iri: r.status for r in det.results}
    candidates: dict[URIRef, list[Change]] = {}
    fixes: dict[URIRef, list[Change]] = {}
    found: list[Counterfactual] = []
    targets = [(pathway, criteria) for pathway, criteria in _targets(det, knowledge) if criteria]
    # Why a pathway cannot be met by other documentation: a criterion that reads only what defines the
    # request, or one the patient's diagnoses decide (diagnoses.py).
    blocked: dict[URIRef | None, tuple[str, str]] = {}
    for pathway, criteria in targets:
        for criterion in criteria:
            if criterion.iri not in candidates:
                candidates[criterion.iri] = _candidates(case, knowledge, criterion, statuses[criterion.iri])
        unchangeable = [c for c in criteria if not candidates[c.iri]]
        by_request = [c for c in unchangeable if _reads_only_the_request(knowledge, c)]
        if by_request:
            blocked[pathway] = ("request-defining", ", ".join(c.id for c in by_request))
        if unchangeable:
            continue  # a criterion of this pathway has no change to try: no set of changes meets them all
        if budget.exhausted:
            continue
        for criterion in criteria:
            if criterion.iri not in fixes:
                fixes[criterion.iri] = _fixes(case, knowledge, criterion, candidates[criterion.iri], budget)
            if not fixes[criterion.iri]:
                break  # this pathway has a criterion no single change meets: the others need no search
        if any(not fixes.get(c.iri) for c in criteria):
            continue
        for choice in range(MAX_CHANGES_PER_CRITERION):
            changes = tuple(dict.fromkeys(fixes[c.iri][min(choice, len(fixes[c.iri]) - 1)] for c in criteria))
            if not budget.spend():
                break
            graph = copy_graph(case)
            for change in changes:
                change.apply(graph)
            decided = _decide(graph, knowledge)
            if decided is not None and decided.outcome == APPROVED:
                cf = Counterfactual(changes, APPROVED, pathway, tuple(c.id for c in criteria))
                if all(cf.changes != other.changes for other in found):
                    found.append(cf)
                break
    if not found:
        for pathway, criteria in targets:
            stuck = [c for c in criteria if not fixes.get(c.iri) and statuses[c.iri] == NOT_MET]
            for criterion in stuck if pathway not in blocked else []:
                evaluate = partial(criterion_status, knowledge=knowledge, criterion=criterion)
                tries = [change.apply for change in candidates[criterion.iri]]
                turned = bound_to_diagnoses(case, knowledge, criterion, tries, evaluate, budget)
                if turned is not None:
                    blocked[pathway] = ("diagnosis", f"{criterion.id}: met only with {' and '.join(turned)}")
                    break
    found.sort(key=lambda cf: len(cf.changes))
    explanation = Explanation(found[:MAX_COUNTERFACTUALS], evaluations=evaluations - budget.left, complete=not budget.exhausted)
    kinds = {kind for kind, _ in blocked.values()}
    if not found and targets and all(pathway in blocked for pathway, _ in targets) and kinds == {"request-defining"}:
        ids = ", ".join(sorted({ids for _, ids in blocked.values()}))
        explanation.reason = "request-defining"
        explanation.reason_text = (
            f"Every pathway has a failing criterion ({ids}) that reads only what defines the request (its code, region, "
            "purpose, member state, date of service): a different request, not other documentation, could be approved."
        )
    elif not found and targets and all(pathway in blocked for pathway, _ in targets):
        listed = "; ".join(sorted({text for _, text in blocked.values()}))
        explanation.reason = "diagnosis"
        explanation.reason_text = (
            f"Every pathway fails on the patient's diagnoses or on what defines the request ({listed}): the guideline's "
            "indications exclude this patient, and documentation does not change a diagnosis."
        )
    elif not found:
        explanation.reason = "none-found" if not budget.exhausted else "search-limit"
        explanation.reason_text = "No change to the facts the failing criteria read approves the request within the search" + (
            " limit." if budget.exhausted else "."
        )
    return explanation


__all__ = ["NOT_MET", "Change", "Counterfactual", "Explanation", "explain"]
