"""Turning a SHACL validation report into a determination (approved, denied, pended, excluded).

Each validation result's ``sh:sourceShape`` names a criterion shape (and so a criterion); its
``sh:sourceConstraint`` says whether the result means "not met" or "not documented". A criterion
applies to a request when its shape targets one of the request's review-context classes; an
applicable criterion with no result is met.

Outcome, in order of precedence:
1. excluded, when an exclusion applies; else pended for clinical review (reason category
   ``ip:ClinicalReviewRequired``), when a clinical-review rule applies (NIA_CG_404: an indication the
   guideline does not address), whatever else fails;
2. denied, when a contraindication is present, a frequency or interval limit or a state rule is not
   met, or every applicable pathway has a criterion that is not met;
3. pended, when nothing documented fails but a deciding criterion lacks documentation (every item
   is listed);
4. approved, when at least one applicable pathway has all criteria met.
Warnings (guideline notes) are reported and never decide. A criterion that several guidelines print
(``ip:alsoStatedIn``) is cited with the section of the guideline the request is reviewed under.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kb import __version__
from kb.knowledge import CriterionInfo, Knowledge, PathwayInfo
from kb.namespaces import DET, IP, RDF, SH, XSD
from kb.pipeline.caseform import short
from kb.pipeline.enrichment import Enriched
from kb.terms import integer_literal

MET = "met"
NOT_MET = "not met"
NOT_DOCUMENTED = "not documented"

APPROVED = "approved"
DENIED = "denied"
PENDED = "pended"
EXCLUDED = "excluded"

PHASE_NAMES = {
    IP.InitialPhase: "initial",
    IP.InitialTreatmentPhaseRepeat: "repeat-initial-phase",
    IP.AfterInitialPhaseRepeat: "repeat-after-initial-phase",
    IP.IntraspinalDrugTrialPhase: "intraspinal-drug-trial",
    IP.OppositeSideCompletion: "opposite-side-completion",
    IP.RepeatForPainPhase: "repeat-pain",
    IP.RepeatForPTSDPhase: "repeat-ptsd",
    IP.StimulatorTrialPhase: "stimulator-trial",
    IP.PermanentImplantationPhase: "permanent-implantation",
    IP.RevisionOrRemovalPhase: "revision-or-removal",
    IP.PumpReplacementPhase: "pump-replacement",
    IP.ExclusionScreeningPhase: "exclusion-screening",
}
REASON_NAMES = {
    IP.CriterionNotMet: "criterion-not-met",
    IP.ContraindicationPresent: "contraindication",
    IP.FrequencyOrIntervalLimit: "frequency-or-interval-limit",
    IP.NotCoveredUnderStateRule: "state-rule",
    IP.ExcludedFromGuideline: "excluded",
    IP.ClinicalReviewRequired: "clinical-review",
}
# Order in which denial reasons are listed (a contraindication first).
DENIAL_REASON_ORDER = (
    IP.ContraindicationPresent,
    IP.FrequencyOrIntervalLimit,
    IP.NotCoveredUnderStateRule,
    IP.CriterionNotMet,
)
STATUS_IRIS = {MET: IP.Met, NOT_MET: IP.NotMet, NOT_DOCUMENTED: IP.NotDocumented}
OUTCOME_IRIS = {APPROVED: IP.Approved, DENIED: IP.Denied, PENDED: IP.Pended, EXCLUDED: IP.Excluded}


@dataclass(frozen=True)
class CriterionResult:
    criterion: CriterionInfo
    status: str
    messages: tuple[str, ...] = ()
    values: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        c = self.criterion
        return {
            "criterionId": c.id,
            "kind": c.kind,
            "guideline": c.guideline_number,
            "section": c.section_title,
            "text": c.text,
            "status": self.status,
            "severity": "violation" if c.is_deciding else "warning",
            "messages": list(self.messages),
            "valuesSeen": list(self.values),
        }


@dataclass(frozen=True)
class PathwayResult:
    pathway: PathwayInfo
    status: str

    def as_json(self) -> dict[str, Any]:
        return {
            "pathway": short(self.pathway.iri),
            "label": self.pathway.label,
            "status": self.status,
            "criteria": [short(c) for c in self.pathway.criteria],
        }


@dataclass(frozen=True)
class CoveredLine:
    """A service line a determination covers, as the determination reports it."""

    node: Node
    code_iri: URIRef
    code: str
    primary: bool
    levels: tuple[str, ...] = ()
    side: Node | None = None
    units: int | None = None
    number: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "line": str(self.node) if isinstance(self.node, URIRef) else None,
            "lineNumber": self.number,
            "cptCode": self.code,
            "primary": self.primary,
            "levels": list(self.levels),
            "side": short(self.side) if self.side is not None else None,
            "units": self.units,
        }


class Explanation(Protocol):
    """What would change the outcome (kb/counterfactual): its machine form, RDF and summary lines."""

    def as_json(self) -> dict[str, Any]: ...

    def add_to(self, graph: Graph, node: URIRef) -> None: ...

    def summary_lines(self) -> list[str]: ...


@dataclass
class Determination:
    source: str
    request: URIRef
    guideline_number: str
    guideline: URIRef
    phase: URIRef
    outcome: str
    reason_categories: list[URIRef]
    deciding: list[CriterionResult]
    missing_documentation: list[tuple[str, str]]
    warnings: list[CriterionResult]
    pathways: list[PathwayResult]
    results: list[CriterionResult]
    conforms: bool
    report: Graph
    case_graph: Graph
    satisfied_pathways: list[PathwayInfo] = field(default_factory=list)
    # The service lines the determination covers (the request itself for a single ip:cptCode), and
    # every guideline it was reviewed under (several only for a screening of excluded codes).
    lines: tuple[CoveredLine, ...] = ()
    guideline_numbers: tuple[str, ...] = ()
    # Counterfactuals, when asked for (kb.counterfactual.explain); never computed by decide().
    explanation: Explanation | None = None

    @property
    def cpt_codes(self) -> list[str]:
        return list(dict.fromkeys(line.code for line in self.lines))

    def as_json(self) -> dict[str, Any]:
        """The machine form; field names are stable (see docs/determination-format.md)."""
        return {
            "case": self.source,
            "request": str(self.request),
            "guideline": self.guideline_number,
            "guidelines": list(self.guideline_numbers or (self.guideline_number,)),
            "phase": PHASE_NAMES.get(self.phase, short(self.phase)),
            "cptCodes": self.cpt_codes,
            "lines": [line.as_json() for line in self.lines],
            "outcome": self.outcome,
            "reasonCategories": [REASON_NAMES[r] for r in self.reason_categories],
            "decidingCriteria": [r.as_json() for r in self.deciding],
            "missingDocumentation": [{"criterionId": cid, "item": item} for cid, item in self.missing_documentation],
            "satisfiedPathways": [short(p.iri) for p in self.satisfied_pathways],
            "pathways": [p.as_json() for p in self.pathways],
            "warnings": [{"criterionId": w.criterion.id, "message": m} for w in self.warnings for m in w.messages],
            "criteria": [r.as_json() for r in self.results],
            "reportConforms": self.conforms,
        } | ({"counterfactuals": self.explanation.as_json()} if self.explanation is not None else {})


def determination_graph(
    det: Determination,
    node: URIRef | None = None,
    determined_at: dt.datetime | None = None,
    received_at: dt.datetime | None = None,
) -> Graph:
    """The determination as RDF in the ontology's determination vocabulary (a new IRI unless given).

    ``received_at`` is when the request for review was received (``ip:requestReceivedAt``); without
    it the request counts as received when it was determined.
    """
    graph = Graph()
    graph.bind("ip", IP)
    graph.bind("det", DET)
    node = node or DET[str(uuid.uuid4())]
    graph.add((node, RDF.type, IP.Determination))
    graph.add((node, IP.forRequest, det.request))
    graph.add((node, IP.underGuideline, det.guideline))
    for index, line in enumerate(det.lines, start=1):
        graph.add((node, IP.coversCode, line.code_iri))
        if isinstance(line.node, URIRef):
            graph.add((node, IP.coversLine, line.node))
            continue
        # A blank-node line of the case has no name outside it: the determination describes the line.
        line_node = URIRef(f"{node}/line-{index}")
        graph.add((node, IP.coversLine, line_node))
        graph.add((line_node, RDF.type, IP.ServiceLine))
        graph.add((line_node, IP.cptCode, line.code_iri))
        for level in line.levels:
            graph.add((line_node, IP.spinalLevel, Literal(level)))
        if line.side is not None:
            graph.add((line_node, IP.side, line.side))
        if line.units is not None:
            graph.add((line_node, IP.units, integer_literal(line.units)))
        if line.number is not None:
            graph.add((line_node, IP.lineNumber, integer_literal(line.number)))
    graph.add((node, IP.reviewPhase, det.phase))
    graph.add((node, IP.outcome, OUTCOME_IRIS[det.outcome]))
    when = determined_at or dt.datetime.now(dt.UTC)
    graph.add((node, IP.determinedAt, Literal(when.isoformat(timespec="seconds"), datatype=XSD.dateTime)))
    received = min(received_at or when, when)
    graph.add((node, IP.requestReceivedAt, Literal(received.isoformat(timespec="seconds"), datatype=XSD.dateTime)))
    graph.add((node, IP.engineVersion, Literal(__version__)))
    for reason in det.reason_categories:
        graph.add((node, IP.denialReason, reason))
    for result in det.deciding:
        graph.add((node, IP.decidingCriterion, result.criterion.iri))
    for pathway in det.satisfied_pathways:
        graph.add((node, IP.satisfiedPathway, pathway.iri))
    for _, item in det.missing_documentation:
        graph.add((node, IP.missingDocumentation, Literal(item)))
    for result in det.results:
        result_node = URIRef(f"{node}/{result.criterion.id}")
        graph.add((node, IP.hasCriterionResult, result_node))
        graph.add((result_node, RDF.type, IP.CriterionResult))
        graph.add((result_node, IP.criterion, result.criterion.iri))
        graph.add((result_node, IP.status, STATUS_IRIS[result.status]))
        if result.criterion.severity is not None:
            graph.add((result_node, IP.severity, result.criterion.severity))
        for message in result.messages:
            graph.add((result_node, IP.message, Literal(message)))
        for value in result.values:
            graph.add((result_node, IP.valueSeen, Literal(value)))
    if det.explanation is not None:
        det.explanation.add_to(graph, node)
    return graph


def _text(value: Node | None) -> str | None:
    if value is None:
        return None
    return str(value) if isinstance(value, Literal) else short(value)


def _collect(report: Graph, request: URIRef, knowledge: Knowledge) -> dict[URIRef, list[tuple[str, str, str | None]]]:
    """Per criterion: (status, message, value) of every result about the request."""
    found: dict[URIRef, list[tuple[str, str, str | None]]] = {}
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if report.value(result, SH.focusNode) != request:
            continue
        shape = report.value(result, SH.sourceShape)
        info = knowledge.criteria_by_shape.get(shape) if isinstance(shape, URIRef) else None
        if info is None:
            raise RuntimeError(f"validation result from an unknown shape {shape}")
        constraint = report.value(result, SH.sourceConstraint)
        status_iri = knowledge.constraint_status.get(constraint) if isinstance(constraint, URIRef) else None
        status = NOT_DOCUMENTED if status_iri == IP.NotDocumented else NOT_MET
        # pySHACL reports both the constraint's and the shape's sh:message; the constraint's is specific.
        messages = {str(m) for m in report.objects(result, SH.resultMessage)}
        specific = messages - {str(m) for m in knowledge.shapes.objects(shape, SH.message)}
        message = sorted(specific or messages or {info.id})[0]
        value = report.value(result, SH.value)
        seen = None if value == request else _text(value)
        found.setdefault(info.iri, []).append((status, message, seen))
    return found


def _criterion_result(info: CriterionInfo, found: list[tuple[str, str, str | None]]) -> CriterionResult:
    if not found:
        return CriterionResult(info, MET)
    status = criterion_status(found)
    relevant = [(m, v) for s, m, v in found if s == status]
    messages = tuple(sorted({m for m, _ in relevant}))
    values = tuple(sorted({v for _, v in relevant if v is not None}))
    return CriterionResult(info, status, messages, values)


def _pathway_status(pathway: PathwayInfo, results: dict[URIRef, CriterionResult]) -> str:
    statuses = [results[c].status for c in pathway.criteria if c in results]
    if any(s == NOT_MET for s in statuses):
        return NOT_MET
    if any(s == NOT_DOCUMENTED for s in statuses):
        return NOT_DOCUMENTED
    return MET


def applicable_criteria(enriched: Enriched, knowledge: Knowledge) -> list[CriterionInfo]:
    """The criteria whose shapes target one of the request's review contexts."""
    request_types = set(enriched.graph.objects(enriched.request, RDF.type))
    # A criterion shared by several guidelines is cited with the reviewing guideline's own section.
    return [c.cited_for(enriched.guideline.iri) for c in knowledge.criteria.values() if c.target_classes & request_types]


def collect(report: Graph, request: URIRef, knowledge: Knowledge) -> dict[URIRef, list[tuple[str, str, str | None]]]:
    """Per criterion: (status, message, value) of every validation result about the request."""
    return _collect(report, request, knowledge)


def criterion_status(found: list[tuple[str, str, str | None]]) -> str:
    """The status of a criterion with these results (met when there is none)."""
    if not found:
        return MET
    return NOT_MET if any(s == NOT_MET for s, _, _ in found) else NOT_DOCUMENTED


def decide(enriched: Enriched, conforms: bool, report: Graph, knowledge: Knowledge, source: str) -> Determination:
    request = enriched.request
    applicable = applicable_criteria(enriched, knowledge)
    found = _collect(report, request, knowledge)
    results = {c.iri: _criterion_result(c, found.get(c.iri, [])) for c in applicable}
    ordered = sorted(results.values(), key=lambda r: r.criterion.id)

    claimed = enriched.graph.value(request, IP.claimedIndication)
    pathways = [p for p in knowledge.pathways.get(enriched.guideline.iri, []) if p.phase == enriched.phase]
    if enriched.phase == IP.InitialPhase and isinstance(claimed, URIRef) and any(p.iri == claimed for p in pathways):
        pathways = [p for p in pathways if p.iri == claimed]
    pathway_results = [PathwayResult(p, _pathway_status(p, results)) for p in pathways]

    warnings = [r for r in ordered if not r.criterion.is_deciding and r.status != MET]
    satisfied = [pr.pathway for pr in pathway_results if pr.status == MET]
    # Criteria of any pathway of the guideline count only through the pathways evaluated here; every
    # other deciding criterion (exclusions, contraindications, limits, state rules) stands alone and
    # decides by its own reason category.
    pathway_criteria = {c for p in knowledge.pathways.get(enriched.guideline.iri, []) for c in p.criteria}
    standalone_failed = [
        r for r in ordered if r.criterion.is_deciding and r.status == NOT_MET and r.criterion.iri not in pathway_criteria
    ]
    exclusions = [r for r in standalone_failed if r.criterion.reason_category == IP.ExcludedFromGuideline]

    outcome: str
    reasons: list[URIRef] = []
    deciding: list[CriterionResult] = []
    missing: list[tuple[str, str]] = []
    # A clinical-review rule that applies (NIA_CG_404: an indication the guideline does not address)
    # takes the request out of automatic review: pended with that reason, never approved or denied.
    review = [r for r in standalone_failed if r.criterion.reason_category == IP.ClinicalReviewRequired]
    if enriched.phase == IP.ExclusionScreeningPhase and not exclusions:  # pragma: no cover - an invariant
        raise RuntimeError("a request of excluded procedures' codes met none of the exclusions that name them")
    if exclusions:
        outcome, reasons, deciding = EXCLUDED, [IP.ExcludedFromGuideline], exclusions
    elif review:
        outcome, reasons, deciding = PENDED, [IP.ClinicalReviewRequired], review
    else:
        for reason in DENIAL_REASON_ORDER:
            failed = [r for r in standalone_failed if r.criterion.reason_category == reason]
            if failed:
                reasons.append(reason)
                deciding.extend(failed)
        pathways_failed = bool(pathway_results) and all(pr.status == NOT_MET for pr in pathway_results)
        if pathways_failed:
            if IP.CriterionNotMet not in reasons:
                reasons.append(IP.CriterionNotMet)
            deciding.extend(
                results[c]
                for pr in pathway_results
                for c in pr.pathway.criteria
                if results[c].status == NOT_MET and results[c] not in deciding
            )
        if deciding:
            outcome = DENIED
        else:
            incomplete = [] if satisfied else [pr for pr in pathway_results if pr.status == NOT_DOCUMENTED]
            undocumented = [
                r
                for r in ordered
                if r.criterion.is_deciding
                and r.status == NOT_DOCUMENTED
                and (r.criterion.iri not in pathway_criteria or any(r.criterion.iri in pr.pathway.criteria for pr in incomplete))
            ]
            if undocumented:
                outcome, deciding = PENDED, undocumented
                missing = [(r.criterion.id, m) for r in undocumented for m in r.messages]
            elif satisfied or not pathway_results:
                outcome = APPROVED
                deciding = [results[c] for p in satisfied for c in p.criteria]
            else:  # pragma: no cover - every pathway status is met, not met or not documented
                raise RuntimeError("no outcome could be reached")
    return Determination(
        source=source,
        request=request,
        guideline_number=enriched.guideline.number,
        guideline=enriched.guideline.iri,
        phase=enriched.phase,
        outcome=outcome,
        reason_categories=reasons,
        deciding=_unique(deciding),
        missing_documentation=missing,
        warnings=warnings,
        pathways=pathway_results,
        results=ordered,
        conforms=conforms,
        report=report,
        case_graph=enriched.graph,
        satisfied_pathways=satisfied,
        lines=_covered_lines(enriched, knowledge),
        guideline_numbers=tuple(g.number for g in enriched.guidelines) or (enriched.guideline.number,),
    )


def _covered_lines(enriched: Enriched, knowledge: Knowledge) -> tuple[CoveredLine, ...]:
    """The request's lines as the determination reports them; the primary line is the one that selected
    the guideline (the request itself for the single-code form; none for a screening of excluded codes)."""
    primary = enriched.graph.value(enriched.request, IP.primaryServiceLine)
    screening = enriched.phase == IP.ExclusionScreeningPhase
    covered = []
    for line in enriched.lines:
        info = knowledge.cpt_by_iri.get(line.code) or knowledge.excluded_codes.get(line.code)
        code = info.code if info is not None else short(line.code)
        is_primary = not screening and line.node in (primary, enriched.request)
        covered.append(CoveredLine(line.node, line.code, code, is_primary, line.levels, line.side, line.units, line.number))
    return tuple(covered)


def _unique(items: list[CriterionResult]) -> list[CriterionResult]:
    seen: set[URIRef] = set()
    result = []
    for item in items:
        if item.criterion.iri not in seen:
            seen.add(item.criterion.iri)
            result.append(item)
    return result
