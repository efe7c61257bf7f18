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
  ganglion block when PTSD is documented and no pain onset is; else acute or chronic from the pain
  duration at the episode's first block (< 3 calendar months: acute).
- ``ip:failedTherapyDaysAnyRegion`` - "Failure to respond to non-operative conservative therapy for
  a minimum of 2 weeks" (CG404-CT2W): failed episodes of any region, each day counted once.
- ``ip:daysSincePriorSympatheticBlock`` / ``ip:priorSympatheticBlock`` - "It has been at least one
  week since the prior sympathetic nerve block" (CG404-R-INTERVAL): the most recent prior block
  with a NIA_CG_404 code, in any region.
- ``ip:countInFirst12WeeksWithRequest`` - "No more than three blocks in the first 12 weeks"
  (CG404-F-PTSD): the episode's blocks plus the request, while the date of service is within 84 days
  of the episode's first block.
- ``ip:extremityPainSign`` / ``ip:extremityPainSignCount`` - "At least THREE of the following must be
  present when treating non-ischemic, extremity pain" (CG404-CHR-SIGNS): the distinct signs the
  recorded findings count as (``ip:countsAsSign``); sub-items of one sign count once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rdflib import Literal, URIRef
from rdflib.term import Node

from kb.dates import add_months, covered_days, integer_literal, literal_date
from kb.namespaces import IP
from kb.pipeline.hooks import guideline_hook

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

    failed: list[tuple[dt.date, dt.date]] = []
    for episode in g.objects(enricher.patient, IP.hasTherapyEpisode):
        start = _date(g.value(episode, IP.startDate))
        if start is None or start > dos or g.value(episode, IP.failedToRespond) != Literal(True):
            continue
        end = min(_date(g.value(episode, IP.endDate)) or dos, dos)
        failed.append((start, end))
    enricher.add(IP.failedTherapyDaysAnyRegion, _int(covered_days(failed)))

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
    if indication is not None:
        enricher.add(IP.sympatheticBlockIndication, indication)

    signs: set[URIRef] = set()
    ontology = enricher.kb.ontology
    for finding in g.objects(enricher.patient, IP.hasFinding):
        noted = _date(g.value(finding, IP.diagnosedOn))
        if noted is not None and noted > dos:
            continue
        kind = g.value(finding, IP.findingType)
        for sign in ontology.objects(kind, IP.countsAsSign):
            if isinstance(sign, URIRef):
                signs.add(sign)
    for sign in sorted(signs):
        enricher.add(IP.extremityPainSign, sign)
    enricher.add(IP.extremityPainSignCount, _int(len(signs)))

    if g.value(request, IP.episodeProcedureCount) == _int(0):
        return None
    return IP.RepeatForPTSDPhase if indication == IP.PTSDTreatment else IP.RepeatForPainPhase


def _indication(enricher: Enricher, episode_start: dt.date) -> URIRef | None:
    g = enricher.g
    claimed = g.value(enricher.request, IP.claimedIndication)
    if isinstance(claimed, URIRef) and claimed in CLAIMED_INDICATION:
        return CLAIMED_INDICATION[claimed]
    onset = _date(g.value(enricher.request, IP.currentPainOnset))
    if onset is None:
        if enricher.cpt.procedure == IP.StellateGanglionBlock and _has_ptsd(enricher):
            return IP.PTSDTreatment
        return None
    return IP.AcutePainTreatment if onset > add_months(episode_start, -3) else IP.ChronicPainTreatment


def _has_ptsd(enricher: Enricher) -> bool:
    g = enricher.g
    for condition in g.objects(enricher.patient, IP.hasCondition):
        if g.value(condition, IP.conditionType) != IP.PostTraumaticStressDisorder:
            continue
        resolved = _date(g.value(condition, IP.resolvedOn))
        if resolved is None or resolved > enricher.dos:
            return True
    return False
