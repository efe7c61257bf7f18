"""The generated questionnaires as files: one JSON file per pathway, and a case's missing items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kb.engine import determine_graph
from kb.knowledge import Knowledge
from kb.pipeline.caseio import read_case_file
from kb.questionnaire.facts import copy_graph
from kb.questionnaire.fhir import missing_questionnaire, pathway_questionnaires
from kb.questionnaire.missing import missing_items


def questionnaire_text(resource: dict[str, Any]) -> str:
    return json.dumps(resource, indent=1, ensure_ascii=False) + "\n"


def write_questionnaires(knowledge: Knowledge, out: Path) -> list[str]:
    """Write every pathway's questionnaire into ``out`` (files of pathways no longer modeled are removed)."""
    out.mkdir(parents=True, exist_ok=True)
    resources = pathway_questionnaires(knowledge)
    for stale in out.glob("*.json"):
        if stale.name not in resources:
            stale.unlink()
    for name, resource in resources.items():
        (out / name).write_text(questionnaire_text(resource), encoding="utf-8")
    return sorted(resources)


def case_questionnaire(path: Path, knowledge: Knowledge) -> dict[str, Any]:
    """The questionnaire of a case file's missing items (no items unless it is pended for documentation)."""
    case = read_case_file(path)
    det = determine_graph(copy_graph(case), str(path), knowledge)
    items = missing_items(case, det, knowledge)
    return missing_questionnaire(knowledge, case, items, path.stem, f"Missing documentation: {path.name}")
