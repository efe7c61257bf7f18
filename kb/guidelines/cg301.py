"""NIA_CG_301 (Paravertebral Facet Joint Injections or Blocks): derived facts of its own.

Registered in ``kb.pipeline.enrichment.GUIDELINE_HOOKS``; runs after the generic facts (episode, phase with
``ip:initialPhaseMaxInjections`` = 2 for the diagnostic phase, 12-month counted procedures).

- ``ip:refDate1MonthBefore`` -- CG301-R-THERAPY / CG301-N-DX1M: "Diagnostic injections within 1
  month of the previous injection do not require documentation of ongoing active conservative
  therapy".
- Opposite sides counted as one -- CG301-F-12MO / CG301-N-SIDES (``kb.guidelines.facet``).
- Diagnostic injections counted -- CG301-F-DIAG: "In the diagnostic phase, a maximum of 2
  procedures may be performed. Repeat diagnostic injections after successful radiofrequency
  neurolysis are allowable if there is a question about the pain generator, different levels are
  to be targeted, or if there is surgery in the same spinal region." ``ip:repeatDiagnosticsAllowedAfter``
  names the neurolysis when it was successful and a condition holds; ``ip:repeatDiagnosticsPossibleAfter``
  when neither its result nor the conditions rule repeat diagnostics out, but they do not both
  allow them (CG301-F-DIAG is then not documented); ``ip:painGeneratorQuestionUnknown`` when only an
  unrecorded question about the pain generator could make a condition hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import Literal, URIRef

from kb.dates import add_months
from kb.guidelines.facet import count_with_sides_merged, levels_of, node_date
from kb.namespaces import IP
from kb.pipeline.hooks import guideline_hook
from kb.terms import FALSE, TRUE, date_literal, integer_literal

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher, ProcedureFact

SUCCESSFUL_RF_RELIEF_PERCENT = 50


@guideline_hook(IP.NIA_CG_301)
def derive(e: Enricher) -> URIRef | None:
    e.add(IP.refDate1MonthBefore, date_literal(add_months(e.dos, -1)))
    count_with_sides_merged(e)
    _diagnostic_count(e)
    return None


def _successful(e: Enricher, rf: ProcedureFact) -> bool | None:
    """Whether a radiofrequency neurolysis gave at least 50% relief or functional improvement (the
    NIA_CG_302 repeat threshold; NIA_CG_301 does not define "successful"): True when the documented
    facts show it, False when they rule it out, None otherwise: the relief is not recorded or recorded
    only as a range across 50% (ip:reliefPercentMin / ip:reliefPercentMax), or it is below 50% while
    functional improvement is not recorded (an unrecorded improvement is unknown, as everywhere)."""
    if (rf.node, IP.functionalImprovementDocumented, TRUE) in e.g:
        return True
    low = e.g.value(rf.node, IP.reliefPercentMin)
    high = e.g.value(rf.node, IP.reliefPercentMax)
    if isinstance(low, Literal) and float(low.toPython()) >= SUCCESSFUL_RF_RELIEF_PERCENT:
        return True
    no_improvement = (rf.node, IP.functionalImprovementDocumented, FALSE) in e.g
    if no_improvement and isinstance(high, Literal) and float(high.toPython()) < SUCCESSFUL_RF_RELIEF_PERCENT:
        return False
    return None


def _repeat_diagnostics_condition(e: Enricher, rf: ProcedureFact) -> bool | None:
    """A question about the pain generator, different levels targeted, or surgery in the region: True
    when one holds, False when none does, None when none is documented and the question about the pain
    generator is not recorded (a finding an examination did not record is unknown).

    A finding or surgery recorded as absent (``ip:present false``) is a documented negative and never
    counts. The levels are the request's, and a recorded surgical history is the whole history."""
    question_recorded_absent = False
    for finding in e.g.objects(e.patient, IP.hasFinding):
        if (finding, IP.findingType, IP.PainGeneratorInQuestion) not in e.g:
            continue
        if not e.absent(finding):
            return True
        question_recorded_absent = True
    requested, treated = levels_of(e.g, e.request), levels_of(e.g, rf.node)
    if requested and treated and not requested <= treated:
        return True
    for surgery in e.g.objects(e.patient, IP.hasSurgery):
        if e.absent(surgery):
            continue
        date = node_date(e.g, surgery, IP.performedOn)
        if date is not None and rf.date < date <= e.dos and (surgery, IP.spinalRegion, e.region) in e.g:
            return True
    return False if question_recorded_absent else None


def _diagnostic_count(e: Enricher) -> None:
    if e.g.value(e.request, IP.purpose) != IP.DiagnosticBlock:
        return
    diagnostic_phase = e.guideline.initial_phase_max or 2
    in_episode = set(e.g.objects(e.request, IP.episodeProcedure))
    procedures = e.procedures()
    episode = [p for p in procedures if p.node in in_episode]
    if len(episode) < diagnostic_phase:
        return  # the request is still in the diagnostic phase
    neurolyses = [
        p
        for p in procedures
        if p.date < e.dos and p.region == e.region and p.cpt.procedure == IP.FacetRadiofrequencyDenervation and not p.cpt.add_on
    ]
    restart = None
    if neurolyses:
        last = neurolyses[-1]
        e.add(IP.lastRegionRadiofrequency, last.node)
        success = _successful(e, last)
        condition = _repeat_diagnostics_condition(e, last)
        if success is not False and condition is not False:
            if success and condition:
                restart = last
                e.add(IP.repeatDiagnosticsAllowedAfter, last.node)
            else:
                e.add(IP.repeatDiagnosticsPossibleAfter, last.node)
                if condition is None:
                    e.add(IP.painGeneratorQuestionUnknown, TRUE)
    if restart is not None:
        counted = [p for p in episode if p.date > restart.date and p.purpose == IP.DiagnosticBlock]
    else:
        counted = episode[:diagnostic_phase] + [p for p in episode[diagnostic_phase:] if p.purpose == IP.DiagnosticBlock]
    e.add(IP.diagnosticCountWithRequest, integer_literal(len(counted) + 1))
    for p in counted:
        e.add(IP.countedDiagnosticProcedure, p.node)
