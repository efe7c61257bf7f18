"""Mechanisms NIA_CG_305 and NIA_CG_404 added, beyond their per-criterion fixtures.

- CG404-N-UNADDRESSED: "Where a specific clinical indication is not directly addressed in this
  guideline, medical necessity determination will be made based on widely accepted standard of care
  criteria." Such a request is pended for clinical review, never approved or denied automatically.
- Shared criteria (ip:alsoStatedIn) are cited with the section of the guideline under review.
- NIA_CG_404's repeat phases (pain, PTSD) replace the generic initial-treatment-phase logic.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from kb.engine import determine_file, determine_text
from kb.namespaces import IP
from kb.pipeline.caseio import TURTLE
from kb.pipeline.determination import determination_graph

CASES = Path(__file__).resolve().parent.parent / "examples" / "cases"
UNADDRESSED = CASES / "cg404-unaddressed-clinical-review-pended.ttl"


def test_unaddressed_indication_is_pended_for_clinical_review() -> None:
    result = determine_file(UNADDRESSED).as_json()
    assert result["outcome"] == "pended"
    assert result["reasonCategories"] == ["clinical-review"]
    assert [c["criterionId"] for c in result["decidingCriteria"]] == ["CG404-N-UNADDRESSED"]
    assert result["missingDocumentation"] == []
    # The chronic pain pathway fails on its distribution criterion, yet the request is not denied.
    statuses = {c["criterionId"]: c["status"] for c in result["criteria"]}
    assert statuses["CG404-CHR-DIST"] == "not met"


def test_clinical_review_is_never_turned_into_a_denial() -> None:
    text = UNADDRESSED.read_text(encoding="utf-8").replace(
        'ip:birthDate "1958-12-01"^^xsd:date ;',
        'ip:birthDate "1958-12-01"^^xsd:date ;\n'
        "    ip:hasCondition [ a ip:Condition ; ip:conditionType ip:ActiveSystemicInfection ;"
        ' ip:diagnosedOn "2024-06-05"^^xsd:date ] ;',
    )
    det = determine_text(text, TURTLE, "unaddressed-with-infection.ttl")
    assert det.outcome == "pended"
    assert det.reason_categories == [IP.ClinicalReviewRequired]
    assert any(r.criterion.id == "CG300-C-INFECTION" and r.status == "not met" for r in det.results)


def test_clinical_review_in_the_rdf_form() -> None:
    graph: Graph = determination_graph(determine_file(UNADDRESSED))
    assert (None, IP.outcome, IP.Pended) in graph
    assert (None, IP.denialReason, IP.ClinicalReviewRequired) in graph
    assert (None, IP.decidingCriterion, IP["CG404-N-UNADDRESSED"]) in graph


def test_addressed_chronic_extremity_pain_is_not_sent_to_review() -> None:
    result = determine_file(CASES / "cg404-chronic-crps-denied.ttl").as_json()
    assert result["outcome"] == "denied"
    assert "clinical-review" not in result["reasonCategories"]


def test_shared_criterion_is_cited_with_the_reviewing_guidelines_section() -> None:
    for name, guideline, section in (
        ("cg305-sij-approved.ttl", "NIA_CG_305", "INDICATIONS FOR SACROILIAC JOINT (SIJ) INJECTIONS"),
        ("cg404-acute-approved.ttl", "NIA_CG_404", "INDICATIONS FOR SYMPATHETIC NERVE BLOCK"),
    ):
        result = determine_file(CASES / name).as_json()
        pain = next(c for c in result["decidingCriteria"] if c["criterionId"] == "CG300-PAIN")
        assert pain["guideline"] == guideline
        assert pain["section"].startswith(section)


def test_cg404_repeat_phases() -> None:
    assert determine_file(CASES / "cg404-repeat-pain-approved.ttl").as_json()["phase"] == "repeat-pain"
    assert determine_file(CASES / "cg404-repeat-ptsd-approved.ttl").as_json()["phase"] == "repeat-ptsd"
    assert determine_file(CASES / "cg305-repeat-initial-approved.ttl").as_json()["phase"] == "repeat-initial-phase"


def test_grouped_sub_items_count_once() -> None:
    det = determine_file(CASES / "cg404-chronic-crps-denied.ttl")
    count = det.case_graph.value(det.request, IP.extremityPainSignCount)
    assert count is not None and int(count) == 2
    signs = set(det.case_graph.objects(det.request, IP.extremityPainSign))
    assert signs == {IP.UnilateralVasomotorChanges, IP.UnilateralTrophicChanges}
