"""Facet procedures per 12 months with opposite sides counted as one (NIA_CG_301, NIA_CG_302).

NIA_CG_301, INDICATIONS FOR REPEAT INJECTIONS (CG301-N-SIDES, applied by CG301-F-12MO):
  "Unilateral injections performed at the same level on the right vs. left within 1 month of each
  other would be considered as one procedure toward the total number of facet procedures allowed
  per 12 months."
NIA_CG_302, INDICATIONS FOR REPEAT PROCEDURES (CG302-N-SIDES, applied by CG302-F-12MO):
  "Unilateral radiofrequency denervation's performed at the same level(s) on the right vs left
  within 1 month of each other would be considered as one procedure toward the total number of
  radiofrequency procedures allowed per 12 months."

The procedures counted are the generic ones (``ip:countedProcedure``: same guideline, same region,
after the date 12 months before the date of service) plus the request. A Left and a Right procedure
with the same recorded levels, no more than 1 calendar month apart, are one procedure; each pairs
with at most one other, earliest first. Procedures without recorded levels or side never pair.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import Graph, URIRef
from rdflib.term import Node

from kb.dates import add_months, literal_date
from kb.namespaces import IP
from kb.terms import integer_literal

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

UNILATERAL = {IP.Left, IP.Right}


@dataclass(frozen=True)
class SidedProcedure:
    node: Node
    date: dt.date
    side: Node | None
    levels: frozenset[str]


def node_date(graph: Graph, node: Node, prop: URIRef) -> dt.date | None:
    return literal_date(graph.value(node, prop))


def levels_of(graph: Graph, node: Node) -> frozenset[str]:
    return frozenset(str(level) for level in graph.objects(node, IP.spinalLevel))


def sided(graph: Graph, node: Node, date: dt.date) -> SidedProcedure:
    return SidedProcedure(node, date, graph.value(node, IP.side), levels_of(graph, node))


def opposite_sides(a: SidedProcedure, b: SidedProcedure) -> bool:
    """Unilateral right and left at the same level(s), within 1 calendar month of each other."""
    if a.side not in UNILATERAL or b.side not in UNILATERAL or a.side == b.side:
        return False
    if not a.levels or a.levels != b.levels:
        return False
    first, second = sorted((a.date, b.date))
    return second <= add_months(first, 1)


def merge_opposite_sides(items: list[SidedProcedure]) -> list[tuple[SidedProcedure, SidedProcedure]]:
    """Pairs of procedures that count as one; each procedure is in at most one pair, earliest first."""
    ordered = sorted(items, key=lambda i: (i.date, str(i.node)))
    paired: set[int] = set()
    pairs = []
    for i, item in enumerate(ordered):
        if i in paired:
            continue
        for j in range(i + 1, len(ordered)):
            if j not in paired and opposite_sides(item, ordered[j]):
                paired.update((i, j))
                pairs.append((item, ordered[j]))
                break
    return pairs


def count_with_sides_merged(e: Enricher) -> None:
    """``ip:sidesMergedCountInLast12MonthsWithRequest`` and ``ip:mergedOppositeSideProcedure``."""
    items = []
    for node in e.g.objects(e.request, IP.countedProcedure):
        date = node_date(e.g, node, IP.performedOn)
        if date is not None:
            items.append(sided(e.g, node, date))
    items.append(sided(e.g, e.request, e.dos))
    pairs = merge_opposite_sides(items)
    e.add(IP.sidesMergedCountInLast12MonthsWithRequest, integer_literal(len(items) - len(pairs)))
    for pair in pairs:
        for member in pair:
            if member.node != e.request:
                e.add(IP.mergedOppositeSideProcedure, member.node)
