"""NIA_CG_302 (Paravertebral Facet Joint Denervation): derived facts of its own.

Registered in ``kb.pipeline.enrichment.GUIDELINE_HOOKS``; runs after the generic facts. NIA_CG_302 prints
no episode note, so the guideline has no ``ip:newEpisodeAfterDays`` and every prior denervation of
the region is in the episode (a request after one is a repeat, ``ip:AfterInitialPhaseRepeat``).

- Opposite sides counted as one -- CG302-F-12MO / CG302-N-SIDES (``kb.guidelines.facet``).
- Opposite side within 1 month -- CG302-N-SIDES: "Opposite side denervation procedures performed at
  the same level(s) within 1 month of the first side do not require follow-up information to be
  submitted." A request that pairs with a prior unilateral denervation of the region (other side,
  same levels, within 1 calendar month, not already paired) is reviewed in the phase
  ``ip:OppositeSideCompletion``, which has no repeat pathway; ``ip:oppositeSideOf`` names the first
  side. "There is no minimum timeframe required between these procedures on the right vs left."
- ``ip:requestedJointCount`` -- CG302-WA-L-JOINTS / CG302-WA-C-JOINT ("One or two joints per each
  intervention" / "One joint per each intervention"): requested levels, doubled when bilateral.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import URIRef

from kb.guidelines.facet import count_with_sides_merged, levels_of, merge_opposite_sides, sided
from kb.namespaces import IP
from kb.pipeline.hooks import guideline_hook
from kb.terms import integer_literal

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher


@guideline_hook(IP.NIA_CG_302)
def derive(e: Enricher) -> URIRef | None:
    count_with_sides_merged(e)
    levels = levels_of(e.g, e.request)
    if levels:
        joints = len(levels) * (2 if e.g.value(e.request, IP.side) == IP.Bilateral else 1)
        e.add(IP.requestedJointCount, integer_literal(joints))
    return _opposite_side(e)


def _opposite_side(e: Enricher) -> URIRef | None:
    priors = [
        sided(e.g, p.node, p.date)
        for p in e.procedures()
        if p.date <= e.dos and p.region == e.region and p.cpt.procedure == IP.FacetRadiofrequencyDenervation and not p.cpt.add_on
    ]
    request = sided(e.g, e.request, e.dos)
    for first, second in merge_opposite_sides([*priors, request]):
        if second.node == e.request:
            e.add(IP.oppositeSideOf, first.node)
            return IP.OppositeSideCompletion
    return None
