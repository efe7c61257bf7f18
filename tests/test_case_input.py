"""Bad input gets a clear, specific error naming the problem, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.engine import determine_text
from kb.errors import CaseFormError, CaseSyntaxError, UnsupportedRequestError
from kb.knowledge import Knowledge
from kb.namespaces import IP
from kb.pipeline.caseio import JSONLD, MAX_CASE_BYTES, TURTLE, parse_case

BASE = (Path(__file__).resolve().parent.parent / "examples" / "cases" / "cg300-acute-approved.ttl").read_text(encoding="utf-8")


def mutate(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def form_problems(text: str) -> list[str]:
    with pytest.raises(CaseFormError) as info:
        determine_text(text, TURTLE, "case.ttl")
    return info.value.problems


def test_the_base_case_is_valid() -> None:
    assert determine_text(BASE, TURTLE, "case.ttl").outcome == "approved"


def test_turtle_syntax_error_names_the_line() -> None:
    broken = mutate("ip:painScore 7 ;", "ip:painScore 7 ;;;; !!")
    with pytest.raises(CaseSyntaxError) as info:
        determine_text(broken, TURTLE, "case.ttl")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "!!" in text)
    assert info.value.line == line
    assert str(info.value).startswith(f"case.ttl, line {line}: invalid Turtle")


def test_unknown_cpt_code() -> None:
    problems = form_problems(mutate("ip:cptCode ip:CPT_64483", "ip:cptCode ip:CPT_99999"))
    assert any("unknown CPT code ip:CPT_99999" in p for p in problems)


def test_pain_score_of_11() -> None:
    problems = form_problems(mutate("ip:painScore 7", "ip:painScore 11"))
    assert any("ip:painScore must be one whole number from 0 to 10" in p and "11" in p for p in problems)
    assert any(p.startswith("the ip:PainAssessment under https://w3id.org/ipkg/case/acute-approved-patient") for p in problems)


def test_pain_score_of_wrong_type() -> None:
    problems = form_problems(mutate("ip:painScore 7", 'ip:painScore "seven"'))
    assert any("ip:painScore" in p for p in problems)


def test_end_date_before_start_date() -> None:
    problems = form_problems(mutate('ip:endDate "2024-05-20"', 'ip:endDate "2024-04-01"'))
    assert any("ends (ip:endDate) before it starts" in p for p in problems)


def test_date_of_service_before_implementation_date() -> None:
    with pytest.raises(UnsupportedRequestError) as info:
        determine_text(mutate('"2024-06-10"^^xsd:date', '"2023-06-10"^^xsd:date'), TURTLE, "case.ttl")
    assert "2023-06-10 is before the implementation date of NIA_CG_300 (2024-01-01)" in str(info.value)


def test_date_of_service_of_wrong_type() -> None:
    problems = form_problems(mutate('"2024-06-10"^^xsd:date', '"next week"'))
    assert any("ip:dateOfService" in p and "xsd:date" in p for p in problems)


def test_add_on_code_alone_is_refused() -> None:
    with pytest.raises(CaseFormError) as info:
        determine_text(mutate("ip:CPT_64483", "ip:CPT_64484"), TURTLE, "case.ttl")
    assert "add-on code" in str(info.value)


def test_code_for_another_region_is_refused() -> None:
    with pytest.raises(CaseFormError) as info:
        determine_text(mutate("ip:CPT_64483", "ip:CPT_64479"), TURTLE, "case.ttl")
    assert "does not include the requested region ip:Lumbar" in str(info.value)


def test_unmodeled_guideline_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Knowledge, "is_modeled", lambda self, guideline: False)
    with pytest.raises(UnsupportedRequestError) as info:
        determine_text(BASE, TURTLE, "case.ttl")
    assert "reviewed under NIA_CG_300 (Epidural Spine Injections), whose criteria are not modeled" in str(info.value)


def test_shacl_terms_in_a_case_are_refused() -> None:
    extra = BASE + "\ncase:x a <http://www.w3.org/ns/shacl#NodeShape> .\n"
    assert any("SHACL terms" in p for p in form_problems(extra))


def test_owl_imports_is_refused_and_not_fetched() -> None:
    extra = BASE + "\ncase:x <http://www.w3.org/2002/07/owl#imports> <http://192.0.2.1/onto.ttl> .\n"
    assert any("owl:imports" in p for p in form_problems(extra))


def test_statements_about_ontology_terms_are_refused() -> None:
    extra = BASE + "\nip:PhysicalTherapy a ip:InactiveModality .\n"
    assert any("ontology term ip:PhysicalTherapy" in p for p in form_problems(extra))


def test_unknown_property_is_refused() -> None:
    problems = form_problems(mutate("ip:painScore 7", "ip:painScroe 7"))
    assert any("unknown property ip:painScroe" in p for p in problems)


def test_derived_property_supplied_is_refused() -> None:
    extra = BASE + "\ncase:acute-approved ip:failedTherapyDays 999 .\n"
    assert any("computed by the engine" in p for p in form_problems(extra))


def test_two_requests_are_refused() -> None:
    extra = BASE + "\ncase:second a ip:PriorAuthorizationRequest .\n"
    assert any("exactly one ip:PriorAuthorizationRequest; found 2" in p for p in form_problems(extra))


def test_oversized_case_is_refused_before_parsing() -> None:
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(b"#" * (MAX_CASE_BYTES + 1), TURTLE, "big.ttl")
    assert "limit" in str(info.value)


def _jsonld_case(context: object) -> str:
    return json.dumps(
        {
            "@context": context,
            "id": "case:j1",
            "type": "PriorAuthorizationRequest",
            "cptCode": "CPT_64483",
            "dateOfService": "2024-06-10",
            "spinalRegion": "Lumbar",
            "forPatient": {"id": "case:j1-patient", "type": "Patient"},
        }
    )


def test_jsonld_with_the_project_context_parses() -> None:
    graph = parse_case(_jsonld_case("https://w3id.org/ipkg/context.jsonld"), JSONLD, "case.jsonld")
    assert len(graph) == 6


@pytest.mark.parametrize(
    "context",
    [
        "https://example.org/context.jsonld",
        ["https://w3id.org/ipkg/context.jsonld", "http://192.0.2.1/x"],
        {"@import": "https://example.org/ctx"},
    ],
)
def test_remote_jsonld_contexts_are_refused(context: object) -> None:
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(_jsonld_case(context), JSONLD, "case.jsonld")
    assert "not" in str(info.value) and "case.jsonld" in str(info.value)


def test_invalid_json_names_the_line() -> None:
    with pytest.raises(CaseSyntaxError) as info:
        parse_case('{\n  "a": 1,\n  oops\n}', JSONLD, "case.jsonld")
    assert info.value.line == 3


def test_non_utf8_input() -> None:
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(b"\xff\xfe\x00", TURTLE, "case.ttl")
    assert "UTF-8" in str(info.value)


def test_jsonld_native_numbers_pass_the_form_checks() -> None:
    document = json.loads(_jsonld_case("https://w3id.org/ipkg/context.jsonld"))
    document["forPatient"]["hasProcedureRecord"] = {
        "id": "case:j1-prior",
        "type": "ProcedureRecord",
        "cptCode": "CPT_64483",
        "performedOn": "2024-05-01",
        "spinalRegion": "Lumbar",
        "reliefPercent": 40.5,
        "reliefDurationDays": 20,
    }
    document["forPatient"]["hasPainAssessment"] = {
        "id": "case:j1-pain",
        "type": "PainAssessment",
        "assessedOn": "2024-06-01",
        "painScore": 7,
    }
    determination = determine_text(json.dumps(document), JSONLD, "case.jsonld")
    assert determination.phase == IP.InitialTreatmentPhaseRepeat


def test_a_prior_pump_trial_on_a_shared_code_is_not_an_epidural_injection() -> None:
    prior = """
case:acute-approved-patient ip:hasProcedureRecord [ a ip:ProcedureRecord ;
    ip:cptCode ip:CPT_62323 ; ip:performedOn "2024-05-01"^^xsd:date ; ip:spinalRegion ip:Lumbar ;
    ip:purpose ip:{purpose} ] .
"""
    as_trial = determine_text(BASE + prior.replace("{purpose}", "IntrathecalPumpTrial"), TURTLE, "case.ttl")
    as_epidural = determine_text(BASE + prior.replace("{purpose}", "TherapeuticPainTreatment"), TURTLE, "case.ttl")
    assert as_trial.phase == IP.InitialPhase
    assert as_epidural.phase == IP.InitialTreatmentPhaseRepeat


@pytest.mark.parametrize("text", ["[]", "<a> <b>", "@prefix x: <y> .\nx:a x:b [", '"unterminated'])
def test_truncated_turtle_is_a_syntax_error(text: str) -> None:
    with pytest.raises(CaseSyntaxError):
        parse_case(text, TURTLE, "case.ttl")


def test_dates_known_to_the_month_or_year_are_accepted() -> None:
    text = mutate('ip:birthDate "1975-03-02"^^xsd:date', 'ip:birthDate "1975"^^xsd:gYear')
    text = text.replace('ip:startDate "2024-04-22"^^xsd:date', 'ip:startDate "2024-04"^^xsd:gYearMonth', 1)
    text = text.replace('ip:painOnsetDate "2024-04-20"^^xsd:date', 'ip:painOnsetDate "2024-04"^^xsd:gYearMonth', 1)
    assert determine_text(text, TURTLE, "case.ttl").outcome == "approved"


def test_partial_dates_out_of_order_are_rejected() -> None:
    problems = form_problems(mutate('ip:startDate "2024-04-22"^^xsd:date', 'ip:startDate "2024-06"^^xsd:gYearMonth'))
    assert any("ends (ip:endDate) before it starts" in p for p in problems)
    problems = form_problems(mutate('ip:painOnsetDate "2024-04-20"^^xsd:date', 'ip:painOnsetDate "2024-07"^^xsd:gYearMonth'))
    assert any("ip:painOnsetDate" in p and "after the assessment date" in p for p in problems)


def test_date_of_service_must_be_a_full_date() -> None:
    problems = form_problems(mutate('"2024-06-10"^^xsd:date', '"2024-06"^^xsd:gYearMonth'))
    assert any("ip:dateOfService" in p for p in problems)
