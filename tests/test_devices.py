"""Which phase a device request is reviewed in (NIA_CG_405, NIA_CG_310): the CPT code, the stated kind
(ip:requestedProcedure), the purpose and the procedure history decide (kb/guidelines/cg405.py,
kb/guidelines/cg310.py). Also: contraindications of NIA_CG_405 do not apply to a revision or removal, and
the pump analysis report's absence warns, never pends."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.engine import determine_text
from kb.errors import CaseFormError, UnsupportedRequestError
from kb.pipeline.caseio import TURTLE

CASES = Path(__file__).resolve().parent.parent / "examples" / "cases"

REQUEST = """@prefix ip:   <https://w3id.org/ipkg/ontology#> .
@prefix case: <https://w3id.org/ipkg/case/> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .

case:r a ip:PriorAuthorizationRequest ;
    ip:forPatient case:p ;
    ip:cptCode ip:CPT_{code} ;
    ip:dateOfService "2024-06-10"^^xsd:date ;
    ip:spinalRegion ip:Lumbar ;
    ip:memberState "TX" {extra} .

case:p a ip:Patient ;
    ip:birthDate "1970-01-01"^^xsd:date {history} .
"""

PUMP_ON_RECORD = """ ;
    ip:hasProcedureRecord [ a ip:ProcedureRecord ; ip:cptCode ip:CPT_62361 ;
        ip:performedOn "2016-05-02"^^xsd:date ; ip:spinalRegion ip:Lumbar ]"""


def phase_of(code: str, extra: str = "", history: str = "") -> str:
    determination = determine_text(REQUEST.format(code=code, extra=extra, history=history), TURTLE, "case.ttl")
    return str(determination.as_json()["phase"])


@pytest.mark.parametrize(
    ("code", "extra", "phase"),
    [
        ("63650", "", "stimulator-trial"),
        ("63650", "; ip:requestedProcedure ip:SpinalCordStimulatorTrial", "stimulator-trial"),
        ("63650", "; ip:requestedProcedure ip:SpinalCordStimulatorPermanentImplantation", "permanent-implantation"),
        ("63655", "", "permanent-implantation"),
        ("63685", "", "permanent-implantation"),
        ("63685", "; ip:requestedProcedure ip:SpinalCordStimulatorRevisionOrRemoval", "revision-or-removal"),
        ("63661", "", "revision-or-removal"),
        ("63662", "", "revision-or-removal"),
        ("63663", "", "revision-or-removal"),
        ("63664", "", "revision-or-removal"),
        ("63688", "", "revision-or-removal"),
    ],
)
def test_cg405_phase_follows_code_and_stated_kind(code: str, extra: str, phase: str) -> None:
    assert phase_of(code, extra) == phase


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("63661", "SpinalCordStimulatorTrial"),
        ("63655", "SpinalCordStimulatorTrial"),
        ("63650", "SpinalCordStimulatorRevisionOrRemoval"),
        ("63650", "IntraArticularSacroiliacJointInjection"),
        ("62362", "IntraspinalDrugTrial"),
        ("62360", "SpinalCordStimulatorPermanentImplantation"),
    ],
)
def test_a_stated_kind_the_code_cannot_report_is_refused(code: str, kind: str) -> None:
    with pytest.raises(CaseFormError) as info:
        phase_of(code, f"; ip:requestedProcedure ip:{kind}")
    assert f"cannot be reviewed with CPT {code}" in str(info.value)


@pytest.mark.parametrize(
    ("code", "extra", "history", "phase"),
    [
        ("62362", "", "", "permanent-implantation"),
        ("62362", "", PUMP_ON_RECORD, "pump-replacement"),
        ("62360", "; ip:requestedProcedure ip:InfusionPumpReplacement", "", "pump-replacement"),
        ("62361", "; ip:requestedProcedure ip:InfusionPumpInsertion", PUMP_ON_RECORD, "permanent-implantation"),
        ("62350", "; ip:purpose ip:IntrathecalPumpTrial", "", "intraspinal-drug-trial"),
        ("62351", "; ip:requestedProcedure ip:IntraspinalDrugTrial", "", "intraspinal-drug-trial"),
        ("62350", "", "", "permanent-implantation"),
        ("62351", "", PUMP_ON_RECORD, "pump-replacement"),
        ("62355", "; ip:requestedProcedure ip:InfusionPumpReplacement", PUMP_ON_RECORD, "pump-replacement"),
    ],
)
def test_cg310_phase_follows_code_kind_purpose_and_history(code: str, extra: str, history: str, phase: str) -> None:
    assert phase_of(code, extra, history) == phase


def test_a_catheter_removal_alone_cannot_be_reviewed() -> None:
    with pytest.raises(UnsupportedRequestError) as info:
        phase_of("62355", "", PUMP_ON_RECORD)
    assert "not a removal on its own" in str(info.value)


def test_cg405_contraindications_do_not_apply_to_revision_or_removal() -> None:
    result = determine_text((CASES / "cg405-removal-infection-approved.ttl").read_text(encoding="utf-8"), TURTLE).as_json()
    assert result["outcome"] == "approved"
    assert not {c["criterionId"] for c in result["criteria"]} & {"CG300-C-INFECTION", "CG405-C-HABITUS"}


def test_missing_pump_analysis_report_warns_and_never_pends() -> None:
    result = determine_text((CASES / "cg310-replacement-malfunction-approved.ttl").read_text(encoding="utf-8"), TURTLE).as_json()
    assert result["outcome"] == "approved"
    assert [w["criterionId"] for w in result["warnings"]] == ["CG310-N-ANALYSIS"]
    assert result["missingDocumentation"] == []


def test_shared_trial_criteria_are_cited_with_the_cg310_section() -> None:
    result = determine_text((CASES / "cg310-trial-pain-approved.ttl").read_text(encoding="utf-8"), TURTLE).as_json()
    cited = {c["criterionId"]: (c["guideline"], c["section"]) for c in result["decidingCriteria"]}
    assert cited["CG408-TP-OPIOID"] == ("NIA_CG_310", "INDICATIONS FOR IMPLANTABLE INFUSION PUMP INSERTION")
