"""How bundles map to case graphs: negatives, partial dates, lines, diagnoses, unmapped elements, refusals."""

from __future__ import annotations

import pytest
from rdflib import XSD, Literal

from kb.fhir.bundle import read_bundle
from kb.fhir.mapper import MappedCase, map_bundle
from kb.fhir.outcome import BundleError
from kb.knowledge import Knowledge
from kb.namespaces import IP
from tests.fhir.bundles import bundle, encode, resource


def mapped(data: dict[str, object], knowledge: Knowledge) -> MappedCase:
    return map_bundle(read_bundle(encode(data), 32), knowledge)


def test_refuted_condition_is_a_documented_negative(knowledge: Knowledge) -> None:
    data = bundle("cg300-stenosis-approved")
    condition = resource(data, "Condition")
    condition["verificationStatus"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]
    }
    graph = mapped(data, knowledge).graph
    node = next(graph.subjects(IP.conditionType, IP.SpinalStenosis))
    assert graph.value(node, IP.present) == Literal(False)


def test_icd10_code_maps_through_the_terminology_table(knowledge: Knowledge) -> None:
    data = bundle("cg300-stenosis-approved")
    resource(data, "Condition")["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M48.062"}]}
    graph = mapped(data, knowledge).graph
    assert (None, IP.conditionType, IP.SpinalStenosis) in graph


def test_partial_dates_keep_their_precision(knowledge: Knowledge) -> None:
    data = bundle("cg300-stenosis-approved")
    resource(data, "Condition")["onsetDateTime"] = "2023-11"
    graph = mapped(data, knowledge).graph
    assert (None, IP.diagnosedOn, Literal("2023-11", datatype=XSD.gYearMonth)) in graph


def test_several_items_are_service_lines_with_their_numbers(knowledge: Knowledge) -> None:
    graph = mapped(bundle("cg300-lines-tf-two-levels-approved"), knowledge).graph
    request = next(iter(graph.subjects(IP.dateOfService, None)))
    lines = list(graph.objects(request, IP.hasServiceLine))
    assert sorted(int(graph.value(line, IP.lineNumber)) for line in lines) == [1, 2]
    assert {str(graph.value(line, IP.spinalLevel)) for line in lines} == {"L4-L5", "L5-S1"}
    assert graph.value(request, IP.cptCode) is None


def test_a_diagnosis_code_becomes_a_condition_and_an_unlisted_one_is_reported(knowledge: Knowledge) -> None:
    case = mapped(bundle("pas/pas-epidural-approved"), knowledge)
    assert (None, IP.conditionType, IP.Radiculopathy) in case.graph
    notes = {i.expression: i.diagnostics for i in case.unmapped}
    assert "G89.4" in notes["Bundle.entry[0].resource.diagnosis[1].diagnosisCodeableConcept"]
    assert notes["Bundle.entry[8].resource"] == "Encounter is not used"


def test_elements_no_row_reads_are_reported_with_their_path(knowledge: Knowledge) -> None:
    data = bundle("cg300-acute-approved")
    resource(data, "Observation")["bodySite"] = {"text": "lower back"}
    resource(data, "Claim")["item"][0]["quantity"] = {"value": 1, "unit": "injection"}
    notes = {i.expression for i in mapped(data, knowledge).unmapped}
    assert "Bundle.entry[2].resource.bodySite.text" in notes
    assert "Bundle.entry[0].resource.item[0].quantity.unit" in notes


@pytest.mark.parametrize(
    ("change", "expression", "code"),
    [
        (lambda d: resource(d, "Claim")["item"][0]["productOrService"]["coding"][0].update(code="99999"),
         "Bundle.entry[0].resource.item[0].productOrService.coding[0].code", "code-invalid"),
        (lambda d: resource(d, "Claim")["item"][0]["productOrService"]["coding"][0].update(system="urn:example:codes"),
         "Bundle.entry[0].resource.item[0].productOrService.coding[0].system", "code-invalid"),
        (lambda d: resource(d, "Observation").update(effectiveDateTime="2030-01-01"),
         "Bundle.entry[2].resource.effectiveDateTime", "business-rule"),
        (lambda d: resource(d, "QuestionnaireResponse")["item"][0].update(linkId="Procedure/nowhere"),
         "Bundle.entry[6].resource.item[0].linkId", "not-found"),
    ],
    ids=["unknown-code", "unknown-system", "future-date", "unknown-questionnaire-target"],
)
def test_refusals_name_the_element(change: object, expression: str, code: str, knowledge: Knowledge) -> None:
    data = bundle("cg300-acute-approved")
    change(data)  # type: ignore[operator]
    with pytest.raises(BundleError) as caught:
        mapped(data, knowledge)
    assert caught.value.status == 422
    assert [(i.expression, i.code) for i in caught.value.issues] == [(expression, code)]


def test_a_medication_request_is_a_medication_course(knowledge: Knowledge) -> None:
    data = bundle("cg300-acute-approved")
    data["entry"].append(
        {
            "fullUrl": "https://example.org/fhir/MedicationRequest/opioid",
            "resource": {
                "resourceType": "MedicationRequest",
                "id": "opioid",
                "status": "active",
                "intent": "order",
                "subject": {"reference": "Patient/cg300-acute-approved-patient"},
                "medicationCodeableConcept": {
                    "coding": [{"system": "https://w3id.org/ipkg/ontology", "code": "OpioidPainMedication"}]
                },
                "dispenseRequest": {"validityPeriod": {"start": "2024-03"}},
            },
        }
    )
    graph = mapped(data, knowledge).graph
    course = next(graph.subjects(IP.medicationClass, IP.OpioidPainMedication))
    assert graph.value(course, IP.startDate) == Literal("2024-03", datatype=XSD.gYearMonth)
    assert (None, IP.hasMedicationCourse, course) in graph


def test_bundle_level_refusals_name_the_element(knowledge: Knowledge) -> None:
    two_claims = bundle("cg300-acute-approved")
    second = {**resource(two_claims, "Claim"), "id": "second"}
    two_claims["entry"].append({"fullUrl": "https://example.org/fhir/Claim/second", "resource": second})
    no_identifier = bundle("cg300-acute-approved")
    del resource(no_identifier, "Claim")["identifier"]
    unknown_type = bundle("cg300-acute-approved")
    unknown_type["entry"][3]["resource"]["resourceType"] = "Organisation"
    cases = [
        (two_claims, "Bundle.entry[7].resource", "not-supported"),
        (no_identifier, "Bundle.entry[0].resource.identifier", "required"),
        (unknown_type, "Bundle.entry[3].resource", "structure"),
    ]
    for data, expression, code in cases:
        with pytest.raises(BundleError) as caught:
            mapped(data, knowledge)
        assert [(i.expression, i.code) for i in caught.value.issues] == [(expression, code)]
