"""The missing items of a pended determination: one per fact its undocumented criteria read that the
case does not record, each with the criteria that need it.

The items are computed from the case as submitted and the determination's missing documentation, in
a fixed order, so the same case and determination always give the same items and link ids: a
questionnaire response is read against items computed again, never against anything the client sends
about them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph

from kb.knowledge import CriterionInfo, Knowledge
from kb.pipeline.determination import PENDED, Determination
from kb.questionnaire.facts import Unknown, unknowns


@dataclass(frozen=True)
class MissingItem:
    link_id: str
    unknown: Unknown
    criteria: tuple[CriterionInfo, ...]


def missing_criteria(det: Determination, knowledge: Knowledge) -> list[CriterionInfo]:
    """The undocumented deciding criteria of a pend for missing documentation, in the listed order."""
    if det.outcome != PENDED:
        return []
    ids = list(dict.fromkeys(cid for cid, _ in det.missing_documentation))
    return [knowledge.criteria_by_id[cid].cited_for(det.guideline) for cid in ids]


def _key(unknown: Unknown) -> tuple[object, ...]:
    return (unknown.subject, unknown.prop, unknown.kind, unknown.template)


def missing_items(case: Graph, det: Determination, knowledge: Knowledge) -> list[MissingItem]:
    """The questions of a pended determination's questionnaire (none for any other outcome)."""
    merged: dict[tuple[object, ...], tuple[Unknown, list[CriterionInfo]]] = {}
    for criterion in missing_criteria(det, knowledge):
        for unknown in unknowns(case, knowledge, criterion, further_records=True):
            key = _key(unknown)
            if key in merged:
                if criterion not in merged[key][1]:
                    merged[key][1].append(criterion)
            else:
                merged[key] = (unknown, [criterion])
    return [MissingItem(f"q{index}", unknown, tuple(criteria)) for index, (unknown, criteria) in enumerate(merged.values(), 1)]
