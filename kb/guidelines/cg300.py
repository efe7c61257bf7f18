"""NIA_CG_300 Epidural Spine Injections: what the generic enrichment does not cover.

NIA_CG_300's episode of care, phases and frequency facts are the generic ones
(kb/pipeline/enrichment.py). What is its own is the scope of its Washington State legislative requirements, which NIA_CG_408
and NIA_CG_305 print with the same wording ("Therapeutic epidural injections in the lumbar or
cervical-thoracic spine for chronic pain are a covered benefit when all of the following conditions
are met"; its reading, including systemic inflammatory disease, is in docs/ambiguities.md). The
policy decides whether the Washington review context applies to a "WA" member's request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import Literal, URIRef

from kb.namespaces import IP
from kb.pipeline.hooks import state_policy

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

THERAPEUTIC_PURPOSES = {None, IP.TherapeuticPainTreatment}


@state_policy((IP.NIA_CG_300, "WA"), (IP.NIA_CG_408, "WA"), (IP.NIA_CG_305, "WA"))
def washington_applies(e: Enricher) -> bool:
    """Therapeutic injections (or no stated purpose) for chronic pain, not systemic inflammatory disease."""
    if e.g.value(e.request, IP.purpose) not in THERAPEUTIC_PURPOSES:
        return False
    for condition in e.g.objects(e.patient, IP.hasCondition):
        if e.absent(condition):
            continue
        kind = e.g.value(condition, IP.conditionType)
        if isinstance(kind, URIRef) and IP.SystemicInflammatoryDisease in e.kb.individual_types.get(kind, ()):
            return False
    # chronic unless the pain certainly began less than 3 months before the date of service
    earliest = e.g.value(e.request, IP.painOnsetEarliest)
    return not (isinstance(earliest, Literal) and earliest.toPython() > e.ref3)
