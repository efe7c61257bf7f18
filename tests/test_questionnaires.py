"""Questionnaires generated from the shapes, and counterfactuals, on the example cases.

- The pathway questionnaires in docs/questionnaires/ are what ``ipkg questionnaire`` writes now, and
  every item names criteria with their verbatim text.
- A pended example's questionnaire, answered favourably (values found by searching its items), is
  read back as a FHIR QuestionnaireResponse, merged into the case and decided: approved; answered
  unfavourably: denied.
- A denied example has a counterfactual that, applied to the case, approves it (checked here again,
  apart from the search), or a stated reason why none exists.

CI runs the examples listed in known-gaps.toml under ``ci`` (the whole set takes minutes);
``IPKG_ALL_EXAMPLES=1`` runs every example. Examples where a check does not hold yet are strict
expected failures with their reason (tests/questionnaires/known-gaps.toml).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rdflib import URIRef

from kb.counterfactual.explain import explain
from kb.engine import determine_graph
from kb.knowledge import Knowledge
from kb.pipeline.caseio import read_case_file
from kb.questionnaire.completion import MET, NOT_MET, complete
from kb.questionnaire.facts import copy_graph
from kb.questionnaire.fhir import missing_questionnaire, pathway_questionnaires, settings
from kb.questionnaire.files import questionnaire_text
from kb.questionnaire.missing import missing_items
from kb.questionnaire.response import favourable_answers, merge, read_response
from kb.questionnaire.search import Budget

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "examples" / "cases"
GAPS = Path(__file__).resolve().parent / "questionnaires" / "known-gaps.toml"
STATED_REASONS = {
    "contraindication",
    "frequency-or-interval-limit",
    "excluded",
    "clinical-review",
    "request-defining",
    "diagnosis",
}


def _gaps() -> dict[str, Any]:
    with GAPS.open("rb") as handle:
        return tomllib.load(handle)


def _expected() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "examples" / "expected").glob("*.json")):
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


def _examples(outcome: str) -> list[str]:
    """The examples of an outcome; for "pended", those pended for missing documentation."""
    return sorted(
        n
        for n, e in _expected().items()
        if e["outcome"] == outcome and (outcome != "pended" or e["missingDocumentationCriteria"])
    )


def _params(outcome: str, table: str) -> list[Any]:
    gaps = _gaps()
    chosen = _examples(outcome)
    if os.environ.get("IPKG_ALL_EXAMPLES") != "1":
        chosen = [n for n in chosen if n in gaps["ci"][outcome]]
    params = []
    for name in chosen:
        reason = gaps["reasons"][gaps[table][name]] if name in gaps[table] else None
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def test_pathway_questionnaires_are_current(knowledge: Knowledge) -> None:
    generated = pathway_questionnaires(knowledge)
    folder = ROOT / "docs" / "questionnaires"
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(generated), "run ipkg questionnaire"
    for name, resource in generated.items():
        assert (folder / name).read_text(encoding="utf-8") == questionnaire_text(resource), f"{name}: run ipkg questionnaire"


def _criterion_links(item: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for extension in item.get("extension", []):
        if extension["url"] == settings()["criterion_extension"]:
            fields = {e["url"]: e.get("valueString") for e in extension["extension"]}
            found.append((str(fields["id"]), str(fields["text"])))
    return found


def test_every_question_names_its_criteria_verbatim(knowledge: Knowledge) -> None:
    questions = 0
    for resource in pathway_questionnaires(knowledge).values():
        pathway = resource["code"][0]["code"]
        members = {
            knowledge.criteria[c].id
            for pathways in knowledge.pathways.values()
            for pw in pathways
            if pw.iri.endswith(pathway)
            for c in pw.criteria
        }
        listed = {cid for cid, _ in _criterion_links(resource)}
        assert members <= listed
        for group in resource["item"]:
            for item in group["item"]:
                links = _criterion_links(item)
                assert links, f"{resource['id']} {item['linkId']} is asked for no criterion"
                for cid, text in links:
                    assert text == knowledge.criteria_by_id[cid].text
                    assert cid in listed
                if item["type"] == "choice":
                    assert item.get("answerOption"), f"{item['linkId']}: a choice without options"
                questions += 1
    assert questions > 0


def _answer(name: str, knowledge: Knowledge, target: str) -> str:
    """The outcome of the example's case after its questionnaire is answered toward ``target``."""
    case = read_case_file(CASES / name)
    det = determine_graph(copy_graph(case), name, knowledge)
    assert det.outcome == "pended"
    items = missing_items(case, det, knowledge)
    assert items, f"{name}: the questionnaire asks nothing"
    questionnaire = missing_questionnaire(knowledge, case, items, "example", name)
    asked = {cid for item in questionnaire["item"] for cid, _ in _criterion_links(item)}
    assert asked == {cid for cid, _ in det.missing_documentation}
    completion = complete(case, det, items, knowledge, target, Budget(200, 600))
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": questionnaire["url"],
        "item": favourable_answers(items, completion.values),
    }
    answers = read_response(response, items, knowledge, questionnaire["url"])
    merged, provenance = merge(
        case,
        answers,
        response,
        URIRef("https://w3id.org/ipkg/graph/questionnaire-response/test"),
        URIRef("https://w3id.org/ipkg/graph/case/after"),
        URIRef("https://w3id.org/ipkg/graph/case/before"),
        dt.datetime(2024, 6, 20, tzinfo=dt.UTC),
        "test",
    )
    assert len(provenance) > 0
    return determine_graph(merged, name, knowledge).outcome


@pytest.mark.parametrize("name", _params("pended", "favourable"))
def test_a_pend_answered_favourably_is_approved(name: str, knowledge: Knowledge) -> None:
    assert _answer(name, knowledge, MET) == "approved"


@pytest.mark.parametrize("name", _params("pended", "unfavourable"))
def test_a_pend_answered_unfavourably_is_denied(name: str, knowledge: Knowledge) -> None:
    assert _answer(name, knowledge, NOT_MET) == "denied"


@pytest.mark.parametrize("name", _params("denied", "counterfactual"))
def test_a_denial_has_a_counterfactual_that_approves_or_a_stated_reason(name: str, knowledge: Knowledge) -> None:
    case = read_case_file(CASES / name)
    det = determine_graph(copy_graph(case), name, knowledge)
    assert det.outcome == "denied"
    explanation = explain(case, det, knowledge, evaluations=200, seconds=600)
    if explanation.reason in STATED_REASONS:
        assert not explanation.counterfactuals and explanation.reason_text
        return
    assert explanation.counterfactuals, f"{name}: {explanation.reason_text}"
    for counterfactual in explanation.counterfactuals:
        changed = copy_graph(case)
        for change in counterfactual.changes:
            change.apply(changed)
        assert determine_graph(changed, name, knowledge).outcome == "approved", [c.text for c in counterfactual.changes]


def test_a_pend_for_clinical_review_asks_nothing_and_says_why(knowledge: Knowledge) -> None:
    names = [n for n, e in _expected().items() if "clinical-review" in e["reasonCategories"]]
    assert names
    for name in names:
        case = read_case_file(CASES / name)
        det = determine_graph(copy_graph(case), name, knowledge)
        assert missing_items(case, det, knowledge) == []
        assert explain(case, det, knowledge).reason == "clinical-review"
