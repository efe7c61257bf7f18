"""The guideline knowledge: guidelines with pathways and criteria, criteria, procedures by CPT code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import KnowledgeDep
from api.problems import ProblemError, shown
from kb.knowledge import CriterionInfo, Knowledge
from kb.pipeline.caseform import short

router = APIRouter(tags=["guidelines"])


def _criterion(c: CriterionInfo) -> dict[str, Any]:
    return {
        "criterionId": c.id,
        "iri": str(c.iri),
        "kind": c.kind,
        "guideline": c.guideline_number,
        "section": c.section_title,
        "text": c.text,
        "shape": str(c.shape) if c.shape else None,
        "severity": "violation" if c.is_deciding else "warning",
        "links": {"self": f"/criteria/{c.id}"},
    }


def _guideline_by_number(knowledge: Knowledge, number: str) -> Any:
    for info in knowledge.guidelines.values():
        if info.number == number:
            return info
    raise ProblemError(404, "Not found", f"no guideline {shown(number)}")


@router.get("/guidelines", summary="The guidelines, with whether their criteria are modeled")
def list_guidelines(knowledge: KnowledgeDep) -> list[dict[str, Any]]:
    return [
        {
            "id": g.number,
            "iri": str(g.iri),
            "title": g.title,
            "implementationDate": g.implementation_date.isoformat(),
            "modeled": knowledge.is_modeled(g.iri),
            "links": {"self": f"/guidelines/{g.number}"},
        }
        for g in sorted(knowledge.guidelines.values(), key=lambda g: g.number)
    ]


@router.get("/guidelines/{guideline_id}", summary="A guideline's pathways and criteria")
def get_guideline(guideline_id: str, knowledge: KnowledgeDep) -> dict[str, Any]:
    g = _guideline_by_number(knowledge, guideline_id)
    criteria = sorted((c for c in knowledge.criteria.values() if c.guideline == g.iri), key=lambda c: c.id)
    return {
        "id": g.number,
        "iri": str(g.iri),
        "title": g.title,
        "implementationDate": g.implementation_date.isoformat(),
        "modeled": knowledge.is_modeled(g.iri),
        "codes": sorted(c.code for c in knowledge.cpt_by_code.values() if g.iri in c.guidelines),
        "pathways": [
            {
                "pathway": short(p.iri),
                "label": p.label,
                "phase": short(p.phase),
                "criteria": [knowledge.criteria[c].id for c in p.criteria],
            }
            for p in knowledge.pathways.get(g.iri, [])
        ],
        "criteria": [_criterion(c) for c in criteria],
    }


@router.get("/criteria/{criterion_id}", summary="A criterion: quote, section, shape, severity")
def get_criterion(criterion_id: str, knowledge: KnowledgeDep) -> dict[str, Any]:
    criterion = knowledge.criteria_by_id.get(criterion_id)
    if criterion is None:
        raise ProblemError(404, "Not found", f"no criterion {shown(criterion_id)}")
    return _criterion(criterion)


@router.get("/procedures", summary="Procedures and CPT codes, optionally for one code")
def list_procedures(
    knowledge: KnowledgeDep, cpt: Annotated[str | None, Query(pattern=r"^\+?[0-9]{4}[0-9A-Z]$")] = None
) -> list[dict[str, Any]]:
    codes = sorted(knowledge.cpt_by_code.values(), key=lambda c: c.code)
    if cpt is not None:
        codes = [c for c in codes if c.code == cpt.lstrip("+")]
        if not codes:
            raise ProblemError(404, "Not found", f"no guideline lists CPT {shown(cpt)}")
    return [
        {
            "cpt": c.code,
            "iri": str(c.iri),
            "addOn": c.add_on,
            "procedure": short(c.procedure) if c.procedure else None,
            "regionGroup": short(c.region_group) if c.region_group else None,
            "guidelines": sorted(knowledge.guidelines[g].number for g in c.guidelines),
        }
        for c in codes
    ]
