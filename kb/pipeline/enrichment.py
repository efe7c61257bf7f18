"""The enrichment step: selects the guideline and phase, and derives dates, counts and intervals.

Everything computed here is written into the case graph with properties the ontology marks with
``ip:derivedBy``, so the values a decision rests on are visible next to the case. The thresholds
themselves (14 days, 42 days, 6 per year ...) are not applied here: the SHACL shapes apply them.

Rules implemented here, with their source:
- Guideline selection: a code listed by one guideline is reviewed under it; a code listed by
  NIA_CG_300 and NIA_CG_408 is reviewed under NIA_CG_408 when the request's purpose is an
  intrathecal pump trial, else under NIA_CG_300; ``ip:requestedGuideline`` (the plan's configured
  guideline) overrides both.
- Episode of care (NIA_CG_300 GENERAL INFORMATION note, criterion CG300-N-EPISODE): prior
  procedures of the same kind in the same region belong to one episode until a gap of at
  least two years, a surgery on the region, or a new pathology of the region starts a new one.
  The rule applies to the guidelines that print the note (``ip:newEpisodeAfterDays``); for the
  others (NIA_CG_302) every prior procedure of the same kind in the region belongs to the episode.
  Same kind: a code of the request's guideline; for a code that NIA_CG_300 and NIA_CG_408 share,
  the same purpose family (an intrathecal pump trial, or an epidural injection), whichever of the
  two guidelines reviews the request.
- Phase (NIA_CG_300 INDICATIONS FOR REPEAT INJECTIONS): no prior procedure in the episode is the
  initial phase; fewer than the guideline's initial-phase maximum (3) is a repeat in the initial
  treatment phase; otherwise a repeat after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kb.dates import add_months, date_interval, latest_day, literal_date, whole_years
from kb.errors import CaseFormError, UnsupportedRequestError
from kb.knowledge import CptInfo, GuidelineInfo, Knowledge
from kb.namespaces import IP, RDF
from kb.pipeline import relief, therapy
from kb.pipeline.caseform import short
from kb.pipeline.hooks import GUIDELINE_HOOKS, STATE_POLICY_HOOKS
from kb.pipeline.servicelines import LineSelection, ServiceLine, code_name, select_lines
from kb.terms import FALSE, TRUE, boolean_literal, date_literal, integer_literal

SHARED_CODE_PURPOSE_GUIDELINE = {IP.IntrathecalPumpTrial: IP.NIA_CG_408}
SHARED_CODE_DEFAULT_GUIDELINE = IP.NIA_CG_300
CHRONIC_PAIN_DAYS = 90  # NIA_CG_408 BACKGROUND: "Chronic pain is pain that continues or recurs ≥ 90 days."


@dataclass(frozen=True)
class ProcedureFact:
    node: Node
    cpt: CptInfo
    date: dt.date
    region: Node | None
    purpose: Node | None

    def same_kind_as(self, guideline: URIRef, purpose: Node | None) -> bool:
        """Whether this procedure is of the kind a request under ``guideline`` with ``purpose`` counts.

        A shared code (NIA_CG_300 and NIA_CG_408) counts when the procedure and the request have the
        same purpose family: both intrathecal pump trials, or both epidural injections. A plan that
        reviews epidural injections under NIA_CG_408 (ip:requestedGuideline) thus counts the prior
        epidural injections too.
        """
        if guideline not in self.cpt.guidelines or self.cpt.add_on:
            return False
        if len(self.cpt.guidelines) > 1:
            return purpose_family(self.purpose) == purpose_family(purpose)
        return True


def purpose_family(purpose: Node | None) -> URIRef:
    """The guideline a purpose selects for a code shared by NIA_CG_300 and NIA_CG_408."""
    if isinstance(purpose, URIRef):
        return SHARED_CODE_PURPOSE_GUIDELINE.get(purpose, SHARED_CODE_DEFAULT_GUIDELINE)
    return SHARED_CODE_DEFAULT_GUIDELINE


def kind_info(knowledge: Knowledge, kind: URIRef, region: Node | None) -> CptInfo | None:
    """What a procedure record identified by kind only (ip:procedureKind, no code) tells: the guidelines
    and regions of the primary codes that report the kind or a broader procedure class (a medial branch
    block is reported with the facet joint injection or medial branch block codes). No code is invented:
    the result's ``code`` is empty and its ``iri`` the kind. None when no code reports the kind."""
    kinds = knowledge.classes_with_superclasses({kind})
    codes = [
        c
        for c in knowledge.cpt_by_iri.values()
        if c.procedure in kinds and not c.add_on and (not c.regions or region in c.regions)
    ]
    if not codes:
        return None
    techniques = {c.technique for c in codes}
    return CptInfo(
        iri=kind,
        code="",
        guidelines=frozenset(g for c in codes for g in c.guidelines),
        region_group=None,
        regions=frozenset(r for c in codes for r in c.regions),
        add_on=False,
        technique=techniques.pop() if len(techniques) == 1 else None,
        procedure=kind,
    )


@dataclass(frozen=True)
class Enriched:
    """A case graph with derived facts, and what the enrichment decided."""

    graph: Graph
    request: URIRef
    guideline: GuidelineInfo
    phase: URIRef
    contexts: frozenset[URIRef]
    # Every guideline the request is reviewed under (several only for a screening of excluded codes).
    guidelines: tuple[GuidelineInfo, ...] = ()
    lines: tuple[ServiceLine, ...] = ()


def copy_term_facts(case: Graph, knowledge: Knowledge) -> None:
    """The types and facts (``TERM_FACT_PROPERTIES``) of every ontology term the case refers to."""
    referenced = {o for o in case.objects() if isinstance(o, URIRef)}
    for term in referenced:
        for cls in knowledge.individual_types.get(term, ()):
            case.add((term, RDF.type, cls))
        for prop, value in knowledge.term_facts.get(term, ()):
            case.add((term, prop, value))  # type: ignore[arg-type]


def _date(graph: Graph, node: Node, prop: URIRef) -> dt.date | None:
    return literal_date(graph.value(node, prop))


def select_request(
    case: Graph, request: URIRef, knowledge: Knowledge, source: str
) -> tuple[GuidelineInfo, LineSelection]:
    """The guideline the request is reviewed under, and its checked service lines.

    The primary line's code decides as a single code does; the other lines must fall under the same
    guideline (kb/pipeline/servicelines.py). A request of excluded procedures' codes only is screened
    under every guideline that reviews all of them, the first deciding the determination's guideline.
    """
    requested = case.value(request, IP.requestedGuideline)
    purpose = case.value(request, IP.purpose)

    def choose(cpt: CptInfo) -> URIRef:
        if isinstance(requested, URIRef):
            if requested not in cpt.guidelines:
                raise CaseFormError(source, [f"CPT {cpt.code} is not listed by the requested guideline {short(requested)}"])
            return requested
        if len(cpt.guidelines) == 1:
            return next(iter(cpt.guidelines))
        return purpose_family(purpose)

    selection = select_lines(case, request, knowledge, source, choose)
    code = code_name(knowledge, selection.primary.code if selection.primary else selection.lines[0].code)
    dos = _date(case, request, IP.dateOfService)
    assert dos is not None
    for chosen in selection.guidelines:
        guideline = knowledge.guidelines[chosen]
        if not knowledge.is_modeled(chosen):
            raise UnsupportedRequestError(
                source,
                f"{code} is reviewed under {guideline.number} ({guideline.title}), "
                "whose criteria are not modeled in this version",
            )
        if dos < guideline.implementation_date:
            raise UnsupportedRequestError(
                source,
                f"the date of service {dos.isoformat()} is before the implementation date of "
                f"{guideline.number} ({guideline.implementation_date.isoformat()}); this guideline version does not apply",
            )
    return knowledge.guidelines[selection.guidelines[0]], selection


def select_guideline(case: Graph, request: URIRef, knowledge: Knowledge, source: str) -> GuidelineInfo:
    """The guideline the request is reviewed under (the first, for a screening under several)."""
    return select_request(case, request, knowledge, source)[0]


def add_line_facts(case: Graph, request: URIRef, selection: LineSelection) -> None:
    """Every code of the request's lines (``ip:serviceLineCode``), its primary line, and the lines'
    levels and side on the request, where the criteria that count levels or read the side look."""
    for code in dict.fromkeys(selection.codes):
        case.add((request, IP.serviceLineCode, code))
    line_nodes = [line for line in selection.lines if line.node != request]
    if not line_nodes:
        return
    if selection.primary is not None:
        case.add((request, IP.primaryServiceLine, selection.primary.node))
    for line in line_nodes:
        for level in line.levels:
            case.add((request, IP.spinalLevel, Literal(level)))
    if case.value(request, IP.side) is None:
        sides = {line.side for line in line_nodes if line.side is not None}
        side = next(iter(sides)) if len(sides) == 1 else None
        if len(sides) > 1 and sides <= {IP.Left, IP.Right, IP.Bilateral}:
            side = IP.Bilateral
        if side is not None:
            case.add((request, IP.side, side))


class Enricher:
    def __init__(
        self,
        case: Graph,
        request: URIRef,
        knowledge: Knowledge,
        guideline: GuidelineInfo,
        source: str = "case",
        selection: LineSelection | None = None,
    ) -> None:
        self.g = case
        self.source = source  # names the case in errors a hook raises
        self.request = request
        self.kb = knowledge
        self.guideline = guideline
        dos = _date(case, request, IP.dateOfService)
        assert dos is not None
        self.dos = dos
        self.region = case.value(request, IP.spinalRegion)
        patient = case.value(request, IP.forPatient)
        assert patient is not None
        self.patient = patient
        lines = selection or select_request(case, request, knowledge, source)[1]
        assert lines.primary is not None, "a request of excluded procedures' codes only is screened, not enriched"
        self.lines = lines.lines
        self.codes = lines.codes  # every code of the request's lines, the primary line's first
        self.primary_line = lines.primary
        self.cpt = knowledge.cpt_by_iri[lines.primary.code]  # the primary line's code
        self.ref3 = add_months(self.dos, -3)
        self.ref6 = add_months(self.dos, -6)
        self.ref12 = add_months(self.dos, -12)
        self.therapy_episodes: tuple[therapy.TherapyEpisode, ...] | None = None  # kb.pipeline.therapy.episodes, read once

    def add(self, prop: URIRef, value: Node) -> None:
        self.g.add((self.request, prop, value))

    def absent(self, node: Node) -> bool:
        """Whether the fact is a documented negative (ip:present false; a finding with ip:testPositive false)."""
        return (node, IP.present, FALSE) in self.g or (node, IP.testPositive, FALSE) in self.g

    def procedures(self) -> list[ProcedureFact]:
        """The patient's prior procedure records with a code, or with a kind (ip:procedureKind) when the
        record names no code: the kind then stands for the codes that report it (kind_info)."""
        facts = []
        for node in self.g.objects(self.patient, IP.hasProcedureRecord):
            code = self.g.value(node, IP.cptCode)
            date = _date(self.g, node, IP.performedOn)
            if date is None:
                continue
            region = self.g.value(node, IP.spinalRegion)
            if isinstance(code, URIRef):
                # A record with an excluded procedure's code (ip:ExcludedProcedureCode) is of no guideline's kind.
                info: CptInfo | None = self.kb.cpt_by_iri.get(code)
            else:
                kind = self.g.value(node, IP.procedureKind)
                info = kind_info(self.kb, kind, region) if isinstance(kind, URIRef) else None
            if info is None:
                continue
            facts.append(ProcedureFact(node, info, date, region, self.g.value(node, IP.purpose)))
        return sorted(facts, key=lambda f: (f.date, str(f.node)))

    def episode_events(self) -> list[tuple[dt.date, Node]]:
        events: list[tuple[dt.date, Node]] = []
        for surgery in self.g.objects(self.patient, IP.hasSurgery):
            date = _date(self.g, surgery, IP.performedOn)
            if date is not None and (surgery, IP.spinalRegion, self.region) in self.g:
                events.append((date, surgery))
        for condition in self.g.objects(self.patient, IP.hasCondition):
            # a diagnosis date known to the month or year counts from its last day: the new
            # pathology certainly exists from then on
            date = latest_day(self.g.value(condition, IP.diagnosedOn))
            if (
                date is not None
                and not self.absent(condition)
                and (condition, IP.newPathology, TRUE) in self.g
                and (condition, IP.spinalRegion, self.region) in self.g
            ):
                events.append((date, condition))
        return sorted(events, key=lambda e: (e[0], str(e[1])))

    def run(self) -> tuple[URIRef, frozenset[URIRef]]:
        self._copy_term_facts()
        self._documented_negatives()
        self._pain()
        self._therapy()
        relief.derive(self.g, sorted(self.g.objects(self.patient, IP.hasProcedureRecord), key=str))
        phase = self._episode()
        hook = GUIDELINE_HOOKS.get(self.guideline.iri)
        if hook is not None:
            phase = hook(self) or phase
        contexts = self._contexts(phase)
        for cls in self.kb.classes_with_superclasses(set(contexts)):
            self.g.add((self.request, RDF.type, cls))
        self.add(IP.reviewPhase, phase)
        if self.cpt.technique is not None:
            self.add(IP.requestedTechnique, self.cpt.technique)
        self.add(IP.underGuideline, self.guideline.iri)
        return phase, frozenset(contexts)

    def _copy_term_facts(self) -> None:
        copy_term_facts(self.g, self.kb)

    def _documented_negatives(self) -> None:
        """Mark every fact recorded as examined and absent (docs/case-format.md, "Documented negatives")."""
        negated = set(self.g.subjects(IP.present, FALSE)) | set(self.g.subjects(IP.testPositive, FALSE))
        for node in sorted(negated, key=str):
            self.g.add((node, IP.documentedAbsent, TRUE))

    def _pain(self) -> None:
        assessments = []
        for node in self.g.objects(self.patient, IP.hasPainAssessment):
            date = _date(self.g, node, IP.assessedOn)
            if date is not None and date <= self.dos:
                assessments.append((date, str(node), node))
        assessments.sort()
        if assessments:
            self.add(IP.latestPainAssessment, assessments[-1][2])
        for assessed, _, node in reversed(assessments):
            onset = self._onset_range(node, assessed)
            if onset is None:
                continue
            earliest, latest = onset
            if earliest is not None:
                self.add(IP.painOnsetEarliest, date_literal(earliest))
                self.add(IP.painDurationDaysMax, integer_literal((self.dos - earliest).days))
            self.add(IP.painOnsetLatest, date_literal(latest))
            self.add(IP.painDurationDaysMin, integer_literal((self.dos - latest).days))
            if earliest == latest:
                self.add(IP.currentPainOnset, date_literal(latest))
                self.add(IP.painDurationDays, integer_literal((self.dos - latest).days))
            break
        self.add(IP.refDate3MonthsBefore, date_literal(self.ref3))
        self.add(IP.refDate6MonthsBefore, date_literal(self.ref6))
        self.add(IP.refDate12MonthsBefore, date_literal(self.ref12))
        birth = date_interval(self.g.value(self.patient, IP.birthDate))
        if birth is not None:
            self.add(IP.patientAgeYears, integer_literal(whole_years(birth.latest, self.dos)))
            if not birth.exact:
                self.add(IP.patientAgeYearsMax, integer_literal(whole_years(birth.earliest, self.dos)))

    def _onset_range(self, assessment: Node, assessed: dt.date) -> tuple[dt.date | None, dt.date] | None:
        """The earliest (None: unbounded) and latest day the pain of ``assessment`` may have begun.

        From ip:painOnsetDate (a day, month or year), narrowed by a duration the assessment states
        as a bound (ip:painDurationAtLeastMonths), or by ip:chronicPain true: "Chronic pain is pain
        that continues or recurs ≥ 90 days" (NIA_CG_408 BACKGROUND), so the pain began at least 90
        days before the assessment."""
        interval = date_interval(self.g.value(assessment, IP.painOnsetDate))
        earliest = interval.earliest if interval else None
        bounds = [interval.latest] if interval else []
        months = self.g.value(assessment, IP.painDurationAtLeastMonths)
        if isinstance(months, Literal) and isinstance(months.toPython(), int):
            bounds.append(add_months(assessed, -int(months.toPython())))
        if (assessment, IP.chronicPain, TRUE) in self.g:
            bounds.append(assessed - dt.timedelta(days=CHRONIC_PAIN_DAYS))
        if not bounds:
            return None
        latest = min(bounds)
        if earliest is not None and earliest > latest:
            earliest = latest
        return earliest, latest

    def _therapy(self) -> None:
        therapy.derive_generic(self)

    def _episode(self) -> URIRef:
        guideline = self.guideline.iri
        all_procs = self.procedures()
        prior = [p for p in all_procs if p.date < self.dos]
        purpose = self.g.value(self.request, IP.purpose)
        same_kind = [p for p in prior if p.same_kind_as(guideline, purpose)]
        same_region = [p for p in same_kind if p.region == self.region]
        events = self.episode_events()
        gap = self.guideline.new_episode_days

        episode: list[ProcedureFact] = []
        started_by: Node | None = None
        previous: dt.date | None = None
        for proc in same_region:
            boundary = self._boundary(previous, proc.date, events, gap)
            if boundary is not False:
                episode = []
            episode.append(proc)
            previous = proc.date
        boundary = self._boundary(previous, self.dos, events, gap, inclusive_end=True)
        if boundary is not False:
            episode = []
            started_by = boundary if boundary is not True else None
        if started_by is not None:
            self.add(IP.newEpisodeStartedBy, started_by)

        for proc in episode:
            self.add(IP.episodeProcedure, proc.node)
        count = len(episode)
        self.add(IP.episodeProcedureCount, integer_literal(count))
        self.add(IP.episodeCountWithRequest, integer_literal(count + 1))
        if episode:
            last = episode[-1]
            self.add(IP.lastEpisodeProcedure, last.node)
            self.add(IP.daysSinceLastEpisodeProcedure, integer_literal((self.dos - last.date).days))
        start = episode[0].date if episode else self.dos
        self.add(IP.episodeStartDate, date_literal(start))
        self.add(IP.inFirstTreatmentYear, boolean_literal(self.dos < add_months(start, 12)))
        if same_region:
            self.add(IP.lastRegionProcedureDate, date_literal(same_region[-1].date))

        in_12 = [p for p in same_region if p.date > self.ref12]
        for proc in in_12:
            self.add(IP.countedProcedure, proc.node)
        self.add(IP.countInLast12MonthsWithRequest, integer_literal(len(in_12) + 1))
        in_6_any_region = [p for p in same_kind if p.date > self.ref6]
        self.add(IP.countInLast6MonthsWithRequest, integer_literal(len(in_6_any_region) + 1))
        self.add(IP.hasPriorRegionProcedure, boolean_literal(any(p.region == self.region for p in prior)))

        others = [p for p in all_procs if p.region is not None and p.region != self.region]
        if others:
            nearest = min(others, key=lambda p: (abs((p.date - self.dos).days), str(p.node)))
            self.add(IP.nearestOtherRegionProcedure, nearest.node)
            self.add(IP.daysSinceOtherRegionProcedure, integer_literal(abs((nearest.date - self.dos).days)))

        initial_max = self.guideline.initial_phase_max
        if count == 0:
            return IP.InitialPhase
        if initial_max is not None and count < initial_max:
            return IP.InitialTreatmentPhaseRepeat
        checked_from = (initial_max or 1) - 1
        for proc in episode[checked_from:]:
            self.add(IP.reliefCheckedProcedure, proc.node)
        return IP.AfterInitialPhaseRepeat

    @staticmethod
    def _boundary(
        previous: dt.date | None,
        date: dt.date,
        events: list[tuple[dt.date, Node]],
        gap: int | None,
        inclusive_end: bool = False,
    ) -> Node | bool:
        """False when ``date`` continues the episode; the event (or True for a gap) that breaks it.

        A guideline without ``ip:newEpisodeAfterDays`` states no episode rule: nothing breaks it."""
        if previous is None or gap is None:
            return False
        for when, event in events:
            if previous < when < date or (inclusive_end and when == date):
                return event
        return (date - previous).days >= gap

    def _contexts(self, phase: URIRef) -> list[URIRef]:
        state = self.g.value(self.request, IP.memberState)
        chosen = []
        for ctx in self.kb.contexts:
            if ctx.guideline != self.guideline.iri or ctx.phase not in (phase, IP.AnyPhase):
                continue
            if ctx.region is not None and ctx.region != self.region:
                continue
            if ctx.state is not None:
                policy = STATE_POLICY_HOOKS.get((self.guideline.iri, ctx.state))
                if str(state) != ctx.state or (policy is not None and not policy(self)):
                    continue
            chosen.append(ctx.iri)
        return chosen


def _screen(case: Graph, request: URIRef, knowledge: Knowledge, selection: LineSelection) -> frozenset[URIRef]:
    """A request of excluded procedures' codes only: the exclusion-screening context of each guideline."""
    contexts = {
        ctx.iri
        for ctx in knowledge.contexts
        if ctx.guideline in selection.guidelines and ctx.phase == IP.ExclusionScreeningPhase
    }
    for cls in knowledge.classes_with_superclasses(set(contexts)):
        case.add((request, RDF.type, cls))
    case.add((request, IP.reviewPhase, IP.ExclusionScreeningPhase))
    for guideline in selection.guidelines:
        case.add((request, IP.underGuideline, guideline))
    return frozenset(contexts)


def enrich(case: Graph, request: URIRef, knowledge: Knowledge, source: str) -> Enriched:
    """Select the guideline, derive the facts, and assert the review contexts on the request."""
    guideline, selection = select_request(case, request, knowledge, source)
    add_line_facts(case, request, selection)
    if selection.screening:
        copy_term_facts(case, knowledge)
        phase, contexts = IP.ExclusionScreeningPhase, _screen(case, request, knowledge, selection)
    else:
        phase, contexts = Enricher(case, request, knowledge, guideline, source, selection).run()
    return Enriched(
        graph=case,
        request=request,
        guideline=guideline,
        phase=phase,
        contexts=contexts,
        guidelines=tuple(knowledge.guidelines[g] for g in selection.guidelines),
        lines=selection.lines,
    )
