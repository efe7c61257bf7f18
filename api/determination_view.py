"""The determination viewer and the list page: what the templates show, built from the stored machine form.

A determination's pathways become a tree: each pathway (with its status) holds its criteria, each
with its status, the guideline's verbatim text, the section, the values seen and the messages; the
criteria outside every pathway (contraindications, exclusions, frequency limits, notes) follow,
grouped by kind. Statuses are shown as text and an icon, never by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.html import render
from kb.knowledge import Knowledge
from kb.repository import OUTCOMES, DeterminationFilter, StoredDetermination

KIND_HEADINGS = {
    "IndicationCriterion": "Indications",
    "RepeatCriterion": "Repeat criteria",
    "FrequencyLimit": "Frequency limits",
    "Contraindication": "Contraindications",
    "Exclusion": "Exclusions",
    "LegislativeRequirement": "Legislative requirements",
    "GuidelineNote": "Guideline notes",
}


@dataclass
class PathwayNode:
    label: str
    iri: str
    status: str
    satisfied: bool
    criteria: list[dict[str, Any]] = field(default_factory=list)


def _local(curie: str) -> str:
    return curie.split(":", 1)[1] if curie.startswith("ip:") else curie.rsplit("#", 1)[-1]


def determination_tree(machine: dict[str, Any]) -> tuple[list[PathwayNode], list[tuple[str, list[dict[str, Any]]]]]:
    """The pathways with their criteria results, and the other results grouped by kind.

    A criterion of several pathways appears under each; every appearance has its own ``anchor``.
    """
    results = {r["criterionId"]: r for r in machine.get("criteria", [])}
    counter = iter(range(1, 1_000_000))
    satisfied = set(machine.get("satisfiedPathways", []))
    pathways: list[PathwayNode] = []
    placed: set[str] = set()
    for pathway in machine.get("pathways", []):
        node = PathwayNode(
            pathway.get("label", pathway["pathway"]),
            pathway["pathway"],
            pathway.get("status", ""),
            pathway["pathway"] in satisfied or pathway.get("status") == "met",
        )
        for criterion in pathway.get("criteria", []):
            result = results.get(_local(criterion))
            if result is not None:
                node.criteria.append({**result, "anchor": f"r{next(counter)}-{result['criterionId']}"})
                placed.add(result["criterionId"])
        pathways.append(node)
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in machine.get("criteria", []):
        if result["criterionId"] not in placed:
            anchored = {**result, "anchor": f"r{next(counter)}-{result['criterionId']}"}
            groups.setdefault(result.get("kind", ""), []).append(anchored)
    ordered = [(KIND_HEADINGS.get(kind, kind), groups[kind]) for kind in (*KIND_HEADINGS, *groups) if kind in groups]
    seen: set[str] = set()
    others = []
    for heading, items in ordered:
        if heading not in seen:
            seen.add(heading)
            others.append((heading, items))
    return pathways, others


def first_anchors(pathways: list[PathwayNode], others: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, str]:
    """Each criterion's first appearance on the page (for the links of the deciding criteria and missing documentation)."""
    anchors: dict[str, str] = {}
    for item in [r for p in pathways for r in p.criteria] + [r for _, results in others for r in results]:
        anchors.setdefault(item["criterionId"], item["anchor"])
    return anchors


def determination_page(request: Request, stored: StoredDetermination, knowledge: Knowledge) -> HTMLResponse:
    machine = stored.machine_form
    pathways, others = determination_tree(machine)
    guideline = next((g for g in knowledge.guidelines.values() if g.number == machine.get("guideline")), None)
    return render(
        request,
        "determination.html",
        title=f"Determination {stored.id}",
        det=machine,
        det_id=stored.id,
        case_id=stored.case_id,
        guideline_title=guideline.title if guideline is not None else "",
        pathways=pathways,
        others=others,
        anchors=first_anchors(pathways, others),
    )


def list_page(
    request: Request, result: dict[str, Any], flt: DeterminationFilter, previous: str | None, guidelines: list[str]
) -> HTMLResponse:
    return render(
        request,
        "determinations.html",
        title="Determinations",
        result=result,
        flt=flt,
        previous=previous,
        outcomes=OUTCOMES,
        guidelines=guidelines,
    )
