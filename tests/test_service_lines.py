"""Requests with several service lines, and codes of procedures a guideline's EXCLUSIONS name.

The rules (kb/pipeline/servicelines.py, docs/case-format.md "Service lines"): an add-on line needs its
primary code in the same request; the lines of one request fall under one guideline; the primary line
selects the guideline and phase; the device guidelines review the kind every code of the lines can
report; a request of excluded procedures' codes only is screened against the exclusions that name them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef

from kb.engine import determine_file, determine_text
from kb.errors import CaseFormError
from kb.namespaces import IP
from kb.pipeline.caseio import JSONLD, TURTLE
from kb.pipeline.determination import determination_graph

CASES = Path(__file__).resolve().parent.parent / "examples" / "cases"
TF_TWO = (CASES / "cg300-lines-tf-two-levels-approved.ttl").read_text(encoding="utf-8")
FACET = (CASES / "cg301-lines-facet-levels-approved.ttl").read_text(encoding="utf-8")
LEADS = (CASES / "cg405-lines-leads-generator-approved.ttl").read_text(encoding="utf-8")
PUMP = (CASES / "cg310-lines-catheter-pump-approved.ttl").read_text(encoding="utf-8")
SINGLE = (CASES / "cg300-acute-approved.ttl").read_text(encoding="utf-8")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _refusal(text: str) -> str:
    with pytest.raises(CaseFormError) as info:
        determine_text(text, TURTLE, "case.ttl")
    return str(info.value)


def test_an_add_on_code_alone_is_refused_naming_its_primary() -> None:
    message = _refusal(_replace(SINGLE, "ip:cptCode ip:CPT_64483 ;", "ip:cptCode ip:CPT_64484 ;"))
    assert "CPT 64484 is an add-on code" in message
    assert "(CPT 64483)" in message


def test_an_add_on_line_needs_its_own_primary_in_the_request() -> None:
    # 64494 is an add-on to the lumbar 64493; with the cervical 64490 beside it, it has no primary.
    text = _replace(FACET, "ip:cptCode ip:CPT_64493 ;", "ip:cptCode ip:CPT_64490 ;")
    message = _refusal(text)
    assert "CPT 64494 is an add-on code" in message and "(CPT 64493)" in message
    assert "CPT 64495 is an add-on code" in message


def test_add_on_line_without_any_primary_line_is_refused() -> None:
    text = _replace(TF_TWO, "ip:lineNumber 1 ; ip:cptCode ip:CPT_64483", "ip:lineNumber 1 ; ip:cptCode ip:CPT_64484")
    assert "CPT 64484 is an add-on code" in _refusal(text)


def test_lines_across_guidelines_are_refused_naming_them() -> None:
    text = _replace(FACET, "ip:cptCode ip:CPT_64495 ;", "ip:cptCode ip:CPT_62323 ;")
    message = _refusal(text)
    assert "the lines of one request must fall under one guideline" in message
    assert "CPT 62323 under NIA_CG_300 or NIA_CG_408" in message
    assert "CPT 64493 under NIA_CG_301" in message


def test_an_excluded_code_of_another_guideline_is_refused_as_across_guidelines() -> None:
    # 64625 is reviewed under NIA_CG_302 and NIA_CG_305, not under NIA_CG_301 (the primary line's).
    message = _refusal(_replace(FACET, "ip:cptCode ip:CPT_64495 ;", "ip:cptCode ip:CPT_64625 ;"))
    assert "CPT 64625 under NIA_CG_302 or NIA_CG_305" in message


def test_every_line_code_must_be_in_the_region_group() -> None:
    text = _replace(TF_TWO, "ip:cptCode ip:CPT_64484", "ip:cptCode ip:CPT_64480")
    message = _refusal(text)
    assert "CPT 64480 is listed for the ip:CervicalThoracicRegion group" in message


def test_an_unknown_code_in_a_line_is_still_refused() -> None:
    message = _refusal(_replace(TF_TWO, "ip:cptCode ip:CPT_64484", "ip:cptCode ip:CPT_64999"))
    assert "ip:hasServiceLine ip:cptCode: unknown CPT code ip:CPT_64999; the guidelines list no such code" in message


def test_an_unknown_single_code_is_still_refused() -> None:
    message = _refusal(_replace(SINGLE, "ip:cptCode ip:CPT_64483 ;", "ip:cptCode ip:CPT_99999 ;"))
    assert "unknown CPT code ip:CPT_99999; the guidelines list no such code" in message


def test_own_code_and_lines_together_are_refused() -> None:
    text = _replace(TF_TWO, "ip:spinalRegion ip:Lumbar ;", "ip:spinalRegion ip:Lumbar ;\n    ip:cptCode ip:CPT_64483 ;")
    assert "either one ip:cptCode of its own or ip:hasServiceLine lines, not both" in _refusal(text)


def test_a_request_without_any_code_is_refused() -> None:
    assert "a request needs its codes" in _refusal(_replace(SINGLE, "    ip:cptCode ip:CPT_64483 ;", ""))


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("ip:units 1 ]", "ip:units 0 ]", "ip:units must be one whole number, 1 or more"),
        ('ip:spinalLevel "L5-S1"', 'ip:spinalLevel "lower back"', "ip:spinalLevel must be a level"),
        (
            "[ a ip:ServiceLine ; ip:lineNumber 2 ;",
            "[ ip:lineNumber 2 ;",
            "ip:hasServiceLine must be a node typed ip:ServiceLine",
        ),
    ],
)
def test_line_form_problems_are_named(old: str, new: str, problem: str) -> None:
    assert problem in _refusal(_replace(TF_TWO, old, new))


def test_the_primary_line_decides_and_every_line_is_covered() -> None:
    det = determine_file(CASES / "cg300-lines-tf-two-levels-approved.ttl")
    body = det.as_json()
    assert body["cptCodes"] == ["64483", "64484"]
    assert [(line["cptCode"], line["primary"], line["levels"], line["lineNumber"]) for line in body["lines"]] == [
        ("64483", True, ["L4-L5"], 1),
        ("64484", False, ["L5-S1"], 2),
    ]
    graph = determination_graph(det, URIRef("https://example.org/det/1"))
    node = URIRef("https://example.org/det/1")
    assert set(graph.objects(node, IP.coversCode)) == {IP.CPT_64483, IP.CPT_64484}
    lines = list(graph.objects(node, IP.coversLine))
    assert len(lines) == 2
    assert {graph.value(line, IP.cptCode) for line in lines} == {IP.CPT_64483, IP.CPT_64484}


def test_the_single_code_form_is_one_line_naming_the_request() -> None:
    det = determine_file(CASES / "cg300-acute-approved.ttl")
    body = det.as_json()
    assert body["cptCodes"] == ["64483"]
    assert body["lines"][0]["line"] == str(det.request)
    graph = determination_graph(det, URIRef("https://example.org/det/2"))
    assert list(graph.objects(URIRef("https://example.org/det/2"), IP.coversLine)) == [det.request]


def test_leads_alone_are_a_trial_and_with_a_generator_a_permanent_implantation() -> None:
    alone = _replace(LEADS, " ,\n        [ a ip:ServiceLine ; ip:lineNumber 2 ; ip:cptCode ip:CPT_63685 ]", "")
    assert determine_text(alone, TURTLE, "case.ttl").phase == IP.StimulatorTrialPhase
    assert determine_file(CASES / "cg405-lines-leads-generator-approved.ttl").phase == IP.PermanentImplantationPhase


def test_a_stated_kind_the_lines_cannot_report_together_is_refused() -> None:
    text = _replace(LEADS, "ip:memberState", "ip:requestedProcedure ip:SpinalCordStimulatorTrial ;\n    ip:memberState")
    message = _refusal(text)
    assert "cannot be reviewed with CPT 63650 + CPT 63685" in message


def test_device_codes_with_no_common_kind_are_refused() -> None:
    text = _replace(LEADS, "ip:cptCode ip:CPT_63685", "ip:cptCode ip:CPT_63661")
    message = _refusal(text)
    assert "report no one kind of procedure under NIA_CG_405" in message
    assert "CPT 63661 reports ip:SpinalCordStimulatorRevisionOrRemoval" in message


def test_catheter_and_pump_without_a_pump_on_record_are_an_insertion() -> None:
    det = determine_file(CASES / "cg310-lines-catheter-pump-approved.ttl")
    assert det.phase == IP.PermanentImplantationPhase
    assert det.case_graph.value(det.request, IP.reviewedProcedure) == IP.InfusionPumpInsertion


def test_catheter_removal_with_a_new_pump_is_a_replacement() -> None:
    text = _replace(PUMP, "ip:cptCode ip:CPT_62350", "ip:cptCode ip:CPT_62355")
    det = determine_text(text, TURTLE, "case.ttl")
    assert det.phase == IP.PumpReplacementPhase


def test_an_excluded_code_beside_a_facet_line_is_excluded_under_the_facet_guideline() -> None:
    det = determine_text(_replace(FACET, "ip:cptCode ip:CPT_64495 ;", "ip:cptCode ip:CPT_64451 ;"), TURTLE, "case.ttl")
    assert det.guideline == IP.NIA_CG_301
    assert det.outcome == "excluded"
    assert [r.criterion.id for r in det.deciding] == ["CG301-X-SACRAL"]


def test_an_excluded_code_under_a_guideline_that_does_not_review_it_is_refused() -> None:
    text = (CASES / "cg302-lines-si-denervation-code-excluded.ttl").read_text(encoding="utf-8")
    message = _refusal(_replace(text, "ip:requestedGuideline ip:NIA_CG_302", "ip:requestedGuideline ip:NIA_CG_301"))
    assert "CPT 64625 is not reviewed under the requested guideline ip:NIA_CG_301" in message


def test_an_ambiguous_excluded_code_is_excluded_under_each_guideline() -> None:
    text = (CASES / "cg302-lines-si-denervation-code-excluded.ttl").read_text(encoding="utf-8")
    det = determine_text(_replace(text, "    ip:requestedGuideline ip:NIA_CG_302 ;\n", ""), TURTLE, "case.ttl")
    assert det.outcome == "excluded"
    assert det.guideline_numbers == ("NIA_CG_302", "NIA_CG_305")
    assert sorted(r.criterion.id for r in det.deciding) == ["CG302-X-SI", "CG305-X-RF"]
    assert {r.criterion.id for r in det.results} == {"CG302-X-SI", "CG305-X-LATERAL", "CG305-X-RF"}
    assert [(line["cptCode"], line["primary"]) for line in det.as_json()["lines"]] == [("64625", False)]
    assert det.as_json()["phase"] == "exclusion-screening"


def test_a_prior_procedure_with_an_excluded_code_is_accepted_and_not_counted() -> None:
    text = _replace(
        SINGLE,
        "case:acute-approved-patient a ip:Patient ;",
        "case:acute-approved-patient a ip:Patient ;\n    ip:hasProcedureRecord [ a ip:ProcedureRecord ; ip:cptCode ip:CPT_64451 ;"
        ' ip:performedOn "2024-03-01"^^xsd:date ; ip:spinalRegion ip:Lumbar ] ;',
    )
    det = determine_text(text, TURTLE, "case.ttl")
    assert det.outcome == "approved"
    assert det.phase == IP.InitialPhase


@pytest.mark.parametrize("phase", ["ip:RepeatForPainPhase", "ip:RepeatForPTSDPhase", "ip:InitialPhase"])
def test_every_review_phase_is_accepted_as_claimed(phase: str) -> None:
    text = (CASES / "cg404-repeat-pain-approved.ttl").read_text(encoding="utf-8")
    det = determine_text(
        _replace(text, "ip:claimedPhase ip:InitialTreatmentPhaseRepeat", f"ip:claimedPhase {phase}"), TURTLE, "c.ttl"
    )
    assert det.outcome == "approved"


@pytest.mark.parametrize("value", ["ip:AnyPhase", "ip:NoSuchPhase", "ip:Lumbar"])
def test_a_claimed_phase_that_is_no_review_phase_is_refused(value: str) -> None:
    text = (CASES / "cg404-repeat-pain-approved.ttl").read_text(encoding="utf-8")
    message = _refusal(_replace(text, "ip:claimedPhase ip:InitialTreatmentPhaseRepeat", f"ip:claimedPhase {value}"))
    assert "ip:claimedPhase: unknown review phase" in message


def test_service_lines_in_json_ld() -> None:
    text = """{"@context": "https://w3id.org/ipkg/context.jsonld", "@graph": [
      {"id": "case:j1", "type": "PriorAuthorizationRequest", "forPatient": "case:j1-p",
       "dateOfService": "2024-06-10", "spinalRegion": "Lumbar",
       "hasServiceLine": [
         {"type": "ServiceLine", "lineNumber": 1, "cptCode": "CPT_64483", "spinalLevel": "L4-L5"},
         {"type": "ServiceLine", "lineNumber": 2, "cptCode": "CPT_64484", "spinalLevel": "L5-S1", "units": 1}]},
      {"id": "case:j1-p", "type": "Patient"}]}"""
    body = determine_text(text, JSONLD, "case.jsonld").as_json()
    assert body["cptCodes"] == ["64483", "64484"]
    assert [(line["levels"], line["units"]) for line in body["lines"]] == [(["L4-L5"], None), (["L5-S1"], 1)]
