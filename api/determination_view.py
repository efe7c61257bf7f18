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
    """The pathways with their criteria results, and the other results grouped by kind."""
    results = {r["criterionId"]: r for r in machine.get("criteria", [])}
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
                node.criteria.append(result)
                placed.add(result["criterionId"])
        pathways.append(node)
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in machine.get("criteria", []):
        if result["criterionId"] not in placed:
            groups.setdefault(result.get("kind", ""), []).append(result)
    ordered = [(KIND_HEADINGS.get(kind, kind), groups[kind]) for kind in (*KIND_HEADINGS, *groups) if kind in groups]
    seen: set[str] = set()
    others = []
    for heading, items in ordered:
        if heading not in seen:
            seen.add(heading)
            others.append((heading, items))
    return pathways, others


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
