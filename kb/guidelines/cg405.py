"""Derived facts and the review phase of NIA_CG_405 (Spinal Cord Stimulation), registered in
``GUIDELINE_HOOKS``.

The guideline has three kinds of request, each with its own criteria and no episode or repeat rules:
"A spinal cord stimulation trial is appropriate when ...", "A permanent spinal cord stimulator is
appropriate when ..." and "Revision or removal of a spinal cord stimulator device is indicated with
ONE of the following". The hook decides which one a request is (``ip:reviewedProcedure``) and returns
its phase, replacing the generic one:

====================  =====================================  ===============================
CPT code              kinds it can report (first: default)   phase
====================  =====================================  ===============================
63650 (percutaneous)  trial, permanent                       ip:StimulatorTrialPhase /
                                                             ip:PermanentImplantationPhase
63655 (paddle)        permanent                              ip:PermanentImplantationPhase
63685 (generator)     permanent, revision or removal         (generator replacement)
63661-63664, 63688    revision or removal                    ip:RevisionOrRemovalPhase
====================  =====================================  ===============================

A request with several lines is the kind all its codes can report: percutaneous leads with a generator
(63650 + 63685) are a permanent implantation, not a trial; codes that share no kind (63650 + 63661) are
refused. A kind stated with ``ip:requestedProcedure`` (ip:SpinalCordStimulatorTrial,
ip:SpinalCordStimulatorPermanentImplantation, ip:SpinalCordStimulatorRevisionOrRemoval) is used when
the code can report it, and the case is refused otherwise. It adds, with properties the ontology marks
with ``ip:derivedBy`` (ontology/devices.ttl, ontology/nia-cg-405.ttl):

- ``ip:failedTherapyDaysAnyRegion`` / ``ip:possibleFailedTherapyDaysAnyRegion`` - "Failure to respond
  to non-operative conservative therapy* for a minimum of 6 months" (CG405-CT6M): failed episodes of
  any region, each day counted once; the possible value also counts the episodes whose response is
  not recorded (the most the documented therapy can give: below 180, not met whatever the responses).
- ``ip:latestPsychologicalAssessment`` - "A completed psychological assessment that documents the
  following" (CG405-PSYCH).
- ``ip:lastStimulatorTrial`` - "Documentation of a successful trial of the temporary SCS device"
  (CG405-P-TRIAL, CG405-P-DEVICE): the most recent record with ``ip:performedProcedure
  ip:SpinalCordStimulatorTrial``.
- ``ip:antianginalPharmacotherapyDays`` - "Optimal pharmacotherapy for at least one month"
  (CG405-ANG-PHARM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import URIRef
from rdflib.term import Node

from kb.guidelines import devices
from kb.namespaces import IP
from kb.pipeline.hooks import guideline_hook

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

TRIAL = IP.SpinalCordStimulatorTrial
PERMANENT = IP.SpinalCordStimulatorPermanentImplantation
REVISION = IP.SpinalCordStimulatorRevisionOrRemoval

KINDS_BY_CODE: dict[str, tuple[URIRef, ...]] = {
    "63650": (TRIAL, PERMANENT),
    "63655": (PERMANENT,),
    "63685": (PERMANENT, REVISION),
    "63661": (REVISION,),
    "63662": (REVISION,),
    "63663": (REVISION,),
    "63664": (REVISION,),
    "63688": (REVISION,),
}
PHASE_OF_KIND = {
    TRIAL: IP.StimulatorTrialPhase,
    PERMANENT: IP.PermanentImplantationPhase,
    REVISION: IP.RevisionOrRemovalPhase,
}


@guideline_hook(IP.NIA_CG_405)
def derive(enricher: Enricher) -> URIRef | None:
    """Add the NIA_CG_405 facts; return the phase of the reviewed procedure."""
    kind = devices.reviewed_procedure(enricher, KINDS_BY_CODE)
    failed_days = devices.failed_therapy_days_any_region(enricher)
    enricher.add(IP.failedTherapyDaysAnyRegion, devices.integer(failed_days))
    possible_days = devices.failed_therapy_days_any_region(enricher, possible=True)
    enricher.add(IP.possibleFailedTherapyDaysAnyRegion, devices.integer(possible_days))
    devices.latest_psychological_assessment(enricher)

    def is_trial(node: Node) -> bool:
        return enricher.g.value(node, IP.performedProcedure) == TRIAL

    trial = devices.last_record(enricher, is_trial)
    if trial is not None:
        enricher.add(IP.lastStimulatorTrial, trial)
    days = devices.medication_days(enricher, {IP.AntianginalPharmacotherapy})
    enricher.add(IP.antianginalPharmacotherapyDays, devices.integer(days))
    return PHASE_OF_KIND[kind]
