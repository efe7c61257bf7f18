"""Which guideline reviews a request for a CPT code that NIA_CG_300 and NIA_CG_408 both list.

The rule (kb/pipeline/enrichment.py, docs/architecture.md "Guideline selection"):
1. ``ip:requestedGuideline`` (the guideline the plan configures) decides, if it lists the code;
2. else ``ip:purpose ip:IntrathecalPumpTrial`` selects NIA_CG_408 (its single injection trials);
3. else (any other purpose, or none) NIA_CG_300.
Prior procedures with a shared code belong to the request's episode when they have the same purpose
family (pump trial, or epidural injection), whichever of the two guidelines reviews the request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.engine import determine_file, determine_text
from kb.errors import CaseFormError
from kb.namespaces import IP
from kb.pipeline.caseio import TURTLE

CASES = Path(__file__).resolve().parent.parent / "examples" / "cases"
TRIAL = (CASES / "cg408-trial-pain-approved.ttl").read_text(encoding="utf-8")
EPIDURAL_408 = (CASES / "cg408-repeat-initial-approved.ttl").read_text(encoding="utf-8")


def _with_request_line(text: str, line: str) -> str:
    marker = "a ip:PriorAuthorizationRequest ;\n"
    assert marker in text
    return text.replace(marker, marker + f"    {line} ;\n", 1)


def test_pump_trial_purpose_selects_nia_cg_408() -> None:
    det = determine_file(CASES / "cg408-trial-pain-approved.ttl")
    assert det.guideline == IP.NIA_CG_408
    assert det.phase == IP.IntraspinalDrugTrialPhase


@pytest.mark.parametrize("purpose", ["ip:purpose ip:TherapeuticPainTreatment ;\n", ""])
def test_other_or_no_purpose_selects_nia_cg_300(purpose: str) -> None:
    text = (CASES / "cg300-acute-approved.ttl").read_text(encoding="utf-8")
    text = text.replace("    ip:purpose ip:TherapeuticPainTreatment ;\n", f"    {purpose}" if purpose else "")
    det = determine_text(text, TURTLE, "case.ttl")
    assert det.guideline == IP.NIA_CG_300
    assert det.outcome == "approved"


def test_plan_configured_nia_cg_408_reviews_an_epidural_injection() -> None:
    det = determine_file(CASES / "cg408-acute-approved.ttl")
    assert det.guideline == IP.NIA_CG_408
    assert det.phase == IP.InitialPhase
    assert {p.iri for p in det.satisfied_pathways} == {IP["CG408-PW-ACUTE"]}


def test_plan_configured_nia_cg_300_excludes_a_pump_trial() -> None:
    det = determine_text(_with_request_line(TRIAL, "ip:requestedGuideline ip:NIA_CG_300"), TURTLE, "case.ttl")
    assert det.guideline == IP.NIA_CG_300
    assert det.outcome == "excluded"
    assert [r.criterion.id for r in det.deciding] == ["CG300-X-PUMP"]


def test_configured_guideline_must_list_the_code() -> None:
    with pytest.raises(CaseFormError) as info:
        determine_text(_with_request_line(TRIAL, "ip:requestedGuideline ip:NIA_CG_301"), TURTLE, "case.ttl")
    assert "not listed by the requested guideline ip:NIA_CG_301" in str(info.value)


def test_prior_epidural_injections_count_when_the_plan_reviews_them_under_nia_cg_408() -> None:
    det = determine_file(CASES / "cg408-repeat-initial-approved.ttl")
    assert det.guideline == IP.NIA_CG_408
    assert det.phase == IP.InitialTreatmentPhaseRepeat


def test_a_prior_pump_trial_is_not_an_epidural_injection_under_nia_cg_408() -> None:
    prior = "ip:purpose ip:{} ;\n        ip:reliefPercent 40"
    text = EPIDURAL_408.replace(prior.format("TherapeuticPainTreatment"), prior.format("IntrathecalPumpTrial"))
    assert text != EPIDURAL_408
    det = determine_text(text, TURTLE, "case.ttl")
    assert det.phase == IP.InitialPhase


def test_shared_criteria_are_cited_with_the_reviewing_guidelines_section() -> None:
    result = determine_file(CASES / "cg408-acute-approved.ttl").as_json()
    pain = next(c for c in result["decidingCriteria"] if c["criterionId"] == "CG300-PAIN")
    assert pain["guideline"] == "NIA_CG_408"
    facet = determine_file(CASES / "cg301-initial-approved.ttl").as_json()
    pain = next(c for c in facet["decidingCriteria"] if c["criterionId"] == "CG300-PAIN")
    section = "INDICATIONS FOR FACET JOINT INJECTIONS OR MEDIAL BRANCH NERVE BLOCKS"
    assert (pain["guideline"], pain["section"]) == ("NIA_CG_301", section)


def test_every_modeled_guideline_but_nia_cg_300_registers_its_enrichment_hook() -> None:
    """kb.engine imports kb.guidelines, whose modules register themselves; the generic enrichment imports none."""
    import kb.engine  # noqa: F401
    from kb.knowledge import load_knowledge
    from kb.pipeline.hooks import GUIDELINE_HOOKS, STATE_POLICY_HOOKS

    modeled = {ctx.guideline for ctx in load_knowledge().contexts}
    assert set(GUIDELINE_HOOKS) == modeled - {IP.NIA_CG_300}
    assert set(STATE_POLICY_HOOKS) == {(IP.NIA_CG_300, "WA"), (IP.NIA_CG_408, "WA"), (IP.NIA_CG_305, "WA")}
    enrichment_source = (Path(__file__).parents[1] / "kb" / "pipeline" / "enrichment.py").read_text(encoding="utf-8")
    assert "kb.guidelines" not in enrichment_source
