"""Derived facts of NIA_CG_305 (Sacroiliac Joint Injections), registered in ``GUIDELINE_HOOKS``.

The generic enrichment (kb/pipeline/enrichment.py) has already derived the episode, the phase (with
``ip:initialPhaseMaxInjections 2``: "Up to 2 sacroiliac joint injections may be performed in the
initial treatment phase", criterion CG305-R-INIT), the reference dates and the pain onset. This hook
adds what only NIA_CG_305 needs; every value is written with a property the ontology marks with
``ip:derivedBy`` (ontology/nia-cg-305.ttl), and the thresholds are applied by the shapes
(shapes/nia-cg-305.ttl), not here:

- ``ip:painOnsetAgeYears`` - "Age of onset < 45 years" (CG305-SPA-ONSET45, and the first criterion of
  inflammatory back pain in CG305-SPA-FEATURES): whole years from the birth date to the pain onset.
- ``ip:inflammatoryBackPainSign`` / ``ip:inflammatoryBackPainSignCount`` - "Inflammatory back pain
  with at least 4 of the following criteria present" (CG305-SPA-FEATURES): the distinct criteria
  present, each counted once however often it is recorded; a criterion recorded as absent
  (``ip:present false``, ``ip:testPositive false``) is never counted. "Age at onset < 45 years" comes
  from the dates only.
- ``ip:possibleInflammatoryBackPainSignCount`` - the same count if every criterion that is not
  documented came out present: the age at onset is the only one that can be undetermined (no birth
  date or no onset date), since a criterion that is not recorded is taken as absent (a recorded
  history is the whole history). CG305-SPA-FEATURES is not met when this count is below 4.
- ``ip:countAllRegionsInLast12MonthsWithRequest`` - "A maximum of 4 sacroiliac joint injections may
  be performed in a 12-month period" (CG305-F-12MO): the text names no region, so prior NIA_CG_305
  procedures in any region after the date 12 calendar months before the date of service count, plus
  the request.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from kb.dates import literal_date, whole_years
from kb.namespaces import IP
from kb.pipeline.hooks import guideline_hook

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

IBP_AGE_LIMIT = 45  # "Age at onset < 45 years"


def _date(value: Node | None) -> dt.date | None:
    return literal_date(value)


@guideline_hook(IP.NIA_CG_305)
def derive(enricher: Enricher) -> URIRef | None:
    """Add the NIA_CG_305 facts; the generic phase stands (returns None)."""
    g = enricher.g
    onset = _date(g.value(enricher.request, IP.currentPainOnset))
    birth = _date(g.value(enricher.patient, IP.birthDate))
    onset_age: int | None = None
    if onset is not None and birth is not None:
        onset_age = whole_years(birth, onset)
        enricher.add(IP.painOnsetAgeYears, Literal(onset_age, datatype=XSD.integer))

    signs: set[URIRef] = set()
    for finding in g.objects(enricher.patient, IP.hasFinding):
        kind = g.value(finding, IP.findingType)
        noted = _date(g.value(finding, IP.diagnosedOn))
        if (noted is not None and noted > enricher.dos) or enricher.absent(finding):
            continue
        if (
            isinstance(kind, URIRef)
            and kind != IP.AgeAtOnsetUnder45
            and IP.InflammatoryBackPainSign in enricher.kb.individual_types.get(kind, ())
        ):
            signs.add(kind)
    if onset_age is not None and onset_age < IBP_AGE_LIMIT:
        signs.add(IP.AgeAtOnsetUnder45)
    for sign in sorted(signs):
        enricher.add(IP.inflammatoryBackPainSign, sign)
    enricher.add(IP.inflammatoryBackPainSignCount, Literal(len(signs), datatype=XSD.integer))
    possible = len(signs) + (1 if onset_age is None else 0)
    enricher.add(IP.possibleInflammatoryBackPainSignCount, Literal(possible, datatype=XSD.integer))

    guideline = enricher.guideline.iri
    counted = [
        p
        for p in enricher.procedures()
        if guideline in p.cpt.guidelines and not p.cpt.add_on and enricher.ref12 < p.date < enricher.dos
    ]
    enricher.add(IP.countAllRegionsInLast12MonthsWithRequest, Literal(len(counted) + 1, datatype=XSD.integer))
    return None
