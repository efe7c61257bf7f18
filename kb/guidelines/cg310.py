"""Derived facts and the review phase of NIA_CG_310 (Implantable Infusion Pump Insertion), registered
in ``GUIDELINE_HOOKS``.

The guideline reviews three kinds of request, each with its own pathways and no episode or repeat
rules: "An intraspinal drug trial ... is appropriate when", "A permanently implanted infusion pump ...
is appropriate when" and "Replacement of an Implanted Infusion Pump is indicated with one of the
following". The hook decides which one a request is (``ip:reviewedProcedure``) and returns its phase:

==================  ===========================================  ================================
CPT code            kinds it can report                          without a stated kind
==================  ===========================================  ================================
62350, 62351        insertion, trial, replacement (catheter)     trial when ip:purpose is
                                                                 ip:IntrathecalPumpTrial; else
                                                                 replacement when a pump is on
                                                                 record; else insertion
62360-62362         insertion, replacement (pump)                replacement when a pump is on
                                                                 record; else insertion
62355               replacement (catheter removal)               refused: no indication addresses a
                                                                 removal on its own (with a new
                                                                 catheter or pump line: replacement)
==================  ===========================================  ================================

Trial = ip:IntraspinalDrugTrialPhase (NIA_CG_408's phase: the trial bullets are NIA_CG_408's
criteria), insertion = ip:PermanentImplantationPhase, replacement = ip:PumpReplacementPhase. A kind
stated with ``ip:requestedProcedure`` (ip:IntraspinalDrugTrial, ip:InfusionPumpInsertion,
ip:InfusionPumpReplacement) is used when the code can report it, and the case is refused otherwise.
A pump is on record when a prior procedure record has a pump code (62360-62362) or an
``ip:performedProcedure`` of insertion or replacement. It adds, with properties the ontology marks
with ``ip:derivedBy`` (ontology/devices.ttl, ontology/nia-cg-310.ttl, ontology/nia-cg-408.ttl):

- ``ip:failedStandardTherapyDays`` / ``ip:possibleFailedStandardTherapyDays`` - "Failure to respond to
  a minimum of 12 weeks of standard therapies" (CG408-TS-THERAPY, printed in the spasticity trial and
  permanent pathways): documented and possible days, as NIA_CG_408 derives them
  (``kb.pipeline.therapy.derive_standard_therapy``).
- ``ip:latestPsychologicalAssessment`` - "a completed psychological assessment prior to permanent
  pump insertion" (CG310-PSYCH).
- ``ip:oralTransdermalOpioidDays`` / ``ip:possibleOralTransdermalOpioidDays`` - "At least 12 weeks of
  oral or transdermal opiate pain medications" (CG310-PP-OPIOID12W): the possible value also counts
  the opiate courses whose route is not recorded (below 84, not met whatever the routes).
- ``ip:lastOpioidTrial`` / ``ip:lastAntispasmodicTrial`` - "a successful trial of intraspinal ...
  opioid / antispasmodic medication" (CG310-PP-TRIAL, CG310-PS-TRIAL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rdflib import URIRef
from rdflib.term import Node

from kb.errors import UnsupportedRequestError
from kb.guidelines import devices
from kb.namespaces import IP
from kb.pipeline import therapy
from kb.pipeline.hooks import guideline_hook

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

TRIAL = IP.IntraspinalDrugTrial
INSERTION = IP.InfusionPumpInsertion
REPLACEMENT = IP.InfusionPumpReplacement

KINDS_BY_CODE: dict[str, tuple[URIRef, ...]] = {
    "62350": (INSERTION, TRIAL, REPLACEMENT),
    "62351": (INSERTION, TRIAL, REPLACEMENT),
    "62355": (REPLACEMENT,),
    "62360": (INSERTION, REPLACEMENT),
    "62361": (INSERTION, REPLACEMENT),
    "62362": (INSERTION, REPLACEMENT),
}
PUMP_CODES = {"62360", "62361", "62362"}
PHASE_OF_KIND = {
    TRIAL: IP.IntraspinalDrugTrialPhase,
    INSERTION: IP.PermanentImplantationPhase,
    REPLACEMENT: IP.PumpReplacementPhase,
}
OPIOID_ROUTES = {IP.OralRoute, IP.TransdermalRoute}


def _pump_on_record(enricher: Enricher) -> bool:
    for proc in enricher.procedures():
        if proc.date >= enricher.dos:
            continue
        if proc.cpt.code in PUMP_CODES or enricher.g.value(proc.node, IP.performedProcedure) in (INSERTION, REPLACEMENT):
            return True
    return False


def _choose(enricher: Enricher, allowed: Sequence[URIRef]) -> URIRef:
    if TRIAL in allowed and enricher.g.value(enricher.request, IP.purpose) == IP.IntrathecalPumpTrial:
        return TRIAL
    return REPLACEMENT if _pump_on_record(enricher) else INSERTION


def _is_trial_with(enricher: Enricher, medication: URIRef) -> devices.RecordTest:
    def accepts(node: Node) -> bool:
        g = enricher.g
        trial = (node, IP.purpose, IP.IntrathecalPumpTrial) in g or (node, IP.performedProcedure, TRIAL) in g
        return trial and (node, IP.trialMedicationClass, medication) in g

    return accepts


@guideline_hook(IP.NIA_CG_310)
def derive(enricher: Enricher) -> URIRef | None:
    """Add the NIA_CG_310 facts; return the phase of the reviewed procedure."""
    codes = {enricher.kb.cpt_by_iri[c].code for c in enricher.codes if c in enricher.kb.cpt_by_iri}
    if codes == {"62355"} and enricher.g.value(enricher.request, IP.requestedProcedure) is None:
        raise UnsupportedRequestError(
            enricher.source,
            "CPT 62355 (removal of an intraspinal catheter) is listed by NIA_CG_310, whose indications address "
            "intraspinal drug trials, permanent pumps and pump replacement but not a removal on its own; state "
            "ip:requestedProcedure ip:InfusionPumpReplacement when the removal is part of replacing the system",
        )
    kind = devices.reviewed_procedure(enricher, KINDS_BY_CODE, _choose)
    therapy.derive_standard_therapy(enricher)  # CG408-TS-THERAPY, cited by NIA_CG_310
    devices.latest_psychological_assessment(enricher)

    days = devices.medication_days(enricher, {IP.OpioidPainMedication}, OPIOID_ROUTES)
    enricher.add(IP.oralTransdermalOpioidDays, devices.integer(days))
    possible = devices.medication_days(enricher, {IP.OpioidPainMedication}, OPIOID_ROUTES, possible=True)
    enricher.add(IP.possibleOralTransdermalOpioidDays, devices.integer(possible))
    trials = ((IP.OpioidPainMedication, IP.lastOpioidTrial), (IP.AntispasmodicMedication, IP.lastAntispasmodicTrial))
    for medication, prop in trials:
        trial = devices.last_record(enricher, _is_trial_with(enricher, medication))
        if trial is not None:
            enricher.add(prop, trial)
    return PHASE_OF_KIND[kind]
