"""Derived facts of NIA_CG_305 (Sacroiliac Joint Injections), registered in ``GUIDELINE_HOOKS``.

The generic enrichment (kb/pipeline/enrichment.py) has already derived the episode, the phase (with
``ip:initialPhaseMaxInjections 2``: "Up to 2 sacroiliac joint injections may be performed in the
initial treatment phase", criterion CG305-R-INIT), the reference dates and the pain onset. This hook
adds what only NIA_CG_305 needs; every value is written with a property the ontology marks with
``ip:derivedBy`` (ontology/nia-cg-305.ttl), and the thresholds are applied by the shapes
(shapes/nia-cg-305.ttl), not here:

- ``ip:painOnsetAgeYearsMin`` / ``ip:painOnsetAgeYearsMax`` (and ``ip:painOnsetAgeYears`` when they
  agree) - "Age of onset < 45 years" (CG305-SPA-ONSET45, and the first criterion of inflammatory back
  pain in CG305-SPA-FEATURES): whole years from the birth date to the pain onset, as a range when
  either date is known only to the month or year, or the onset only as a bound.
- ``ip:inflammatoryBackPainSign`` / ``ip:inflammatoryBackPainSignCount`` - "Inflammatory back pain
  with at least 4 of the following criteria present" (CG305-SPA-FEATURES): the distinct criteria
  present, each counted once however often it is recorded; a criterion recorded as absent
  (``ip:present false``, ``ip:testPositive false``) is never counted. "Age at onset < 45 years" comes
  from the dates only.
- ``ip:undocumentedInflammatoryBackPainSign`` / ``ip:possibleInflammatoryBackPainSignCount`` - the
  criteria neither present nor documented as absent (a finding type not recorded, or the age at onset
  when no birth date, no onset, or an age range across 45 decides it), and the count if each came
  out present. CG305-SPA-FEATURES is not met only when this count is below 4.
- ``ip:undocumentedSpondyloarthropathyFeature`` - the ten other features that are neither present
  nor documented as absent ("HLA-B27 negative" is documented; a feature never mentioned is not).
- ``ip:countAllRegionsInLast12MonthsWithRequest`` - "A maximum of 4 sacroiliac joint injections may
  be performed in a 12-month period" (CG305-F-12MO): the text names no region, so prior NIA_CG_305
  procedures in any region after the date 12 calendar months before the date of service count, plus
  the request.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rdflib import URIRef
from rdflib.term import Node

from kb.dates import date_interval, literal_date, whole_years
from kb.namespaces import IP
from kb.pipeline.hooks import guideline_hook
from kb.terms import integer_literal

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

IBP_AGE_LIMIT = 45  # "Age at onset < 45 years"


def _date(value: Node | None) -> dt.date | None:
    return literal_date(value)


def onset_age_range(enricher: Enricher) -> tuple[int | None, int | None]:
    """The least and the greatest whole age in years the member can have had when the pain began.

    From the birth date and the pain onset range (``ip:painOnsetEarliest`` / ``ip:painOnsetLatest``,
    dates known to the month or year included). None for an end the record does not bound: no birth
    date gives neither; an onset with no earliest day gives no least age."""
    g = enricher.g
    birth = date_interval(g.value(enricher.patient, IP.birthDate))
    latest = _date(g.value(enricher.request, IP.painOnsetLatest))
    if birth is None or latest is None:
        return None, None
    earliest = _date(g.value(enricher.request, IP.painOnsetEarliest))
    least = whole_years(birth.latest, earliest) if earliest is not None else None
    return least, whole_years(birth.earliest, latest)


def _kinds_of(enricher: Enricher, cls: URIRef) -> set[URIRef]:
    """The finding types that are individuals of ``cls`` (ontology/nia-cg-305.ttl)."""
    return {k for k, types in enricher.kb.individual_types.items() if cls in types and isinstance(k, URIRef)}


def _findings_by_kind(enricher: Enricher) -> tuple[set[URIRef], set[URIRef]]:
    """Finding types recorded as present, and those recorded only as documented negatives
    (``ip:present false``, ``ip:testPositive false``), on or before the date of service."""
    g = enricher.g
    present: set[URIRef] = set()
    negative: set[URIRef] = set()
    for finding in g.objects(enricher.patient, IP.hasFinding):
        kind = g.value(finding, IP.findingType)
        noted = _date(g.value(finding, IP.diagnosedOn))
        if not isinstance(kind, URIRef) or (noted is not None and noted > enricher.dos):
            continue
        (negative if enricher.absent(finding) else present).add(kind)
    return present, negative - present


@guideline_hook(IP.NIA_CG_305)
def derive(enricher: Enricher) -> URIRef | None:
    """Add the NIA_CG_305 facts; the generic phase stands (returns None)."""
    least, greatest = onset_age_range(enricher)
    if least is not None:
        enricher.add(IP.painOnsetAgeYearsMin, integer_literal(least))
    if greatest is not None:
        enricher.add(IP.painOnsetAgeYearsMax, integer_literal(greatest))
    if least is not None and least == greatest:
        enricher.add(IP.painOnsetAgeYears, integer_literal(least))

    present, denied = _findings_by_kind(enricher)
    sign_kinds = _kinds_of(enricher, IP.InflammatoryBackPainSign) - {IP.AgeAtOnsetUnder45}
    signs = present & sign_kinds
    age_sign_possible = greatest is None or least is None or least < IBP_AGE_LIMIT
    if greatest is not None and greatest < IBP_AGE_LIMIT:
        signs.add(IP.AgeAtOnsetUnder45)
    for sign in sorted(signs):
        enricher.add(IP.inflammatoryBackPainSign, sign)
    enricher.add(IP.inflammatoryBackPainSignCount, integer_literal(len(signs)))
    undetermined = {k for k in sign_kinds if k not in present and k not in denied}
    if IP.AgeAtOnsetUnder45 not in signs and age_sign_possible:
        undetermined.add(IP.AgeAtOnsetUnder45)
    for sign in sorted(undetermined):
        enricher.add(IP.undocumentedInflammatoryBackPainSign, sign)
    enricher.add(IP.possibleInflammatoryBackPainSignCount, integer_literal(len(signs) + len(undetermined)))
    for feature in sorted(_kinds_of(enricher, IP.SpondyloarthropathyFeature) - present - denied):
        enricher.add(IP.undocumentedSpondyloarthropathyFeature, feature)

    guideline = enricher.guideline.iri
    counted = [
        p
        for p in enricher.procedures()
        if guideline in p.cpt.guidelines and not p.cpt.add_on and enricher.ref12 < p.date < enricher.dos
    ]
    enricher.add(IP.countAllRegionsInLast12MonthsWithRequest, integer_literal(len(counted) + 1))
    return None
