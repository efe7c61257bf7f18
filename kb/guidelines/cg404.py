"""Derived facts and the review phase of NIA_CG_404 (Sympathetic Nerve Blocks), registered in
``GUIDELINE_HOOKS``.

The generic enrichment (kb/pipeline/enrichment.py) has already derived the episode of care in the region (the
guideline prints the two-year note; ``ip:newEpisodeAfterDays 730``), the counts in the region and
the pain onset. NIA_CG_404 has no initial treatment phase: a repeat block is reviewed under the
rules "For the treatment of pain" or "For the treatment of PTSD" (FREQUENCY OF REPEAT INJECTIONS),
so this hook replaces the generic repeat phase by ``ip:RepeatForPainPhase`` or
``ip:RepeatForPTSDPhase``. It adds, with properties the ontology marks with ``ip:derivedBy``
(ontology/nia-cg-404.ttl); the thresholds are applied by the shapes (shapes/nia-cg-404.ttl):

- ``ip:sympatheticBlockIndication`` - what the episode treats, which decides the repeat rules and
  the yearly limit ("For acute pain, no more than 6 ...", "For chronic pain, no more than 4 ...",
  CG404-F-ACUTE, CG404-F-CHRONIC, CG404-F-PTSD): the claimed indication; else PTSD for a stellate
  ganglion block when PTSD is documented (not recorded absent) and no pain onset is; else acute or
  chronic from the pain duration at the episode's first block (< 3 calendar months: acute), read
  from the onset range (``ip:painOnsetEarliest`` / ``ip:painOnsetLatest``: a month, a year, or
  "chronic"); none when the range does not decide.
- ``ip:failedTherapyDaysAnyRegion`` / ``ip:possibleFailedTherapyDaysAnyRegion`` - "Failure to respond
  to non-operative conservative therapy for a minimum of 2 weeks" (CG404-CT2W): failed episodes of any
  region, each day counted once; the possible value counts the episodes whose response is not
  recorded too (kb/guidelines/devices.py), so the shape can tell "not yet documented" from "cannot
  reach the minimum".
- ``ip:daysSincePriorSympatheticBlock`` / ``ip:priorSympatheticBlock`` - "It has been at least one
  week since the prior sympathetic nerve block" (CG404-R-INTERVAL): the most recent prior block
  with a NIA_CG_404 code, in any region.
- ``ip:countInFirst12WeeksWithRequest`` - "No more than three blocks in the first 12 weeks"
  (CG404-F-PTSD): the episode's blocks plus the request, while the date of service is within 84 days
  of the episode's first block.
- ``ip:extremityPainSign`` / ``ip:extremityPainSignCount`` - "At least THREE of the following must be
  present when treating non-ischemic, extremity pain" (CG404-CHR-SIGNS): the distinct signs the
  recorded findings count as (``ip:countsAsSign``); sub-items of one sign count once; a finding
  recorded as absent (``ip:present false``, ``ip:testPositive false``) never counts.
- ``ip:extremityPainSignAbsent`` - the signs recorded as absent and not present: the sign's own
  finding type recorded absent ("trophic changes: none"); the sub-items are examples ("including"),
  so recording them absent leaves the sign undocumented.
- ``ip:extremityPainSignUndocumented`` / ``ip:extremityPainSignUndocumentedCount`` - the signs
  neither present nor recorded absent: the at-least-THREE count is not met when present +
  undocumented < 3, met when present >= 3 (docs/architecture.md, "The three-valued rule").
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rdflib import Literal, URIRef
from rdflib.term import Node

from kb.dates import add_months, literal_date
from kb.guidelines import devices
from kb.namespaces import IP, RDF
from kb.pipeline.hooks import guideline_hook
from kb.terms import integer_literal

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

FIRST_WEEKS_DAYS = 12 * 7  # "the first 12 weeks"
CLAIMED_INDICATION = {
    IP["CG404-PW-PTSD"]: IP.PTSDTreatment,
    IP["CG404-PW-ACUTE"]: IP.AcutePainTreatment,
    IP["CG404-PW-CHRONIC"]: IP.ChronicPainTreatment,
}


def _date(value: Node | None) -> dt.date | None:
    return literal_date(value)


def _int(value: int) -> Literal:
    return integer_literal(value)


@guideline_hook(IP.NIA_CG_404)
def derive(enricher: Enricher) -> URIRef | None:
    """Add the NIA_CG_404 facts; return the repeat phase (pain or PTSD) for a repeat request."""
    g = enricher.g
    request = enricher.request
    dos = enricher.dos

    enricher.add(IP.failedTherapyDaysAnyRegion, _int(devices.failed_therapy_days_any_region(enricher)))
    possible = devices.failed_therapy_days_any_region(enricher, possible=True)
    enricher.add(IP.possibleFailedTherapyDaysAnyRegion, _int(possible))

    blocks = [
        p for p in enricher.procedures() if enricher.guideline.iri in p.cpt.guidelines and not p.cpt.add_on and p.date < dos
    ]
    if blocks:
        prior = max(blocks, key=lambda p: (p.date, str(p.node)))
        enricher.add(IP.priorSympatheticBlock, prior.node)
        enricher.add(IP.daysSincePriorSympatheticBlock, _int((dos - prior.date).days))

    start = _date(g.value(request, IP.episodeStartDate)) or dos
    count = g.value(request, IP.episodeCountWithRequest)
    if isinstance(count, Literal) and (dos - start).days < FIRST_WEEKS_DAYS:
        enricher.add(IP.countInFirst12WeeksWithRequest, _int(int(count.toPython())))

    indication = _indication(enricher, start)

    _signs(enricher)

    if g.value(request, IP.episodeProcedureCount) == _int(0):
        return None
    return IP.RepeatForPTSDPhase if indication == IP.PTSDTreatment else IP.RepeatForPainPhase


def _signs(enricher: Enricher) -> None:
    """The signs of non-ischemic extremity pain present, recorded absent, and neither (CG404-CHR-SIGNS)."""
    g = enricher.g
    ontology = enricher.kb.ontology
    every_sign = {s for s in ontology.subjects(RDF.type, IP.ExtremityPainSign) if isinstance(s, URIRef)}
    present: set[URIRef] = set()
    absent_types: set[Node] = set()
    for finding in g.objects(enricher.patient, IP.hasFinding):
        noted = _date(g.value(finding, IP.diagnosedOn))
        if noted is not None and noted > enricher.dos:
            continue
        kind = g.value(finding, IP.findingType)
        if enricher.absent(finding):
            if kind is not None:
                absent_types.add(kind)
            continue
        present.update(s for s in ontology.objects(kind, IP.countsAsSign) if isinstance(s, URIRef))
    # A sign is absent only by its own record ("trophic changes: none"): its sub-items are examples
    # ("including"), so their absence leaves other forms of the sign possible.
    absent = {sign for sign in every_sign - present if sign in absent_types}
    undocumented = every_sign - present - absent
    for prop, signs in (
        (IP.extremityPainSign, present),
        (IP.extremityPainSignAbsent, absent),
        (IP.extremityPainSignUndocumented, undocumented),
    ):
        for sign in sorted(signs):
            enricher.add(prop, sign)
    enricher.add(IP.extremityPainSignCount, _int(len(present)))
    enricher.add(IP.extremityPainSignUndocumentedCount, _int(len(undocumented)))


def _indication(enricher: Enricher, episode_start: dt.date) -> URIRef | None:
    """Derive ``ip:sympatheticBlockIndication`` (none when it cannot be told) and return it."""
    g = enricher.g
    indication: URIRef | None = None
    claimed = g.value(enricher.request, IP.claimedIndication)
    earliest = _date(g.value(enricher.request, IP.painOnsetEarliest))
    latest = _date(g.value(enricher.request, IP.painOnsetLatest))
    reference = add_months(episode_start, -3)
    if isinstance(claimed, URIRef) and claimed in CLAIMED_INDICATION:
        indication = CLAIMED_INDICATION[claimed]
    elif latest is None:
        if enricher.cpt.procedure == IP.StellateGanglionBlock and _has_ptsd(enricher):
            indication = IP.PTSDTreatment
    elif latest <= reference:
        indication = IP.ChronicPainTreatment
    elif earliest is not None and earliest > reference:
        indication = IP.AcutePainTreatment
    # else: an onset known only to the month or year that straddles the 3 months
    if indication is not None:
        enricher.add(IP.sympatheticBlockIndication, indication)
    return indication


def _has_ptsd(enricher: Enricher) -> bool:
    g = enricher.g
    for condition in g.objects(enricher.patient, IP.hasCondition):
        if g.value(condition, IP.conditionType) != IP.PostTraumaticStressDisorder or enricher.absent(condition):
            continue
        resolved = _date(g.value(condition, IP.resolvedOn))
        if resolved is None or resolved > enricher.dos:
            return True
    return False
