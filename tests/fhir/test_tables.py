"""The mapping tables and the terminology table agree with the FHIR R4 models and the ontology."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from kb.fhir.tables import load_tables
from kb.fhir.terminology import curie, in_range, load_terminology
from kb.knowledge import Knowledge

TABLES = load_tables()
MODULES = {
    "Claim": "claim",
    "Patient": "patient",
    "Condition": "condition",
    "Observation": "observation",
    "Procedure": "procedure",
    "MedicationStatement": "medicationstatement",
    "MedicationRequest": "medicationrequest",
    "QuestionnaireResponse": "questionnaireresponse",
}


def _model(resource: str) -> Any:
    module = importlib.import_module(f"fhir.resources.R4B.{MODULES[resource]}")
    return getattr(module, resource)


def _has_path(model: Any, path: str) -> bool:
    """Whether the dotted element path exists in the R4B model (following element types)."""
    current = model
    for name in path.split("."):
        if name == "value[x]":
            return "valueString" in current.model_fields
        if current is None:
            return False
        fields = current.model_fields
        if name not in fields:
            return False
        annotation = fields[name].annotation
        current = _element_type(annotation)
    return True


def _element_type(annotation: Any) -> Any:
    """The model class of an element's type (the models name it ``<Class>Type``), None for a primitive."""
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _element_type(arg)
        if found is not None:
            return found
    name = getattr(annotation, "__name__", "")
    if name.endswith("Type") and name not in ("Type",):
        try:
            return get_fhir_model_class(name.removesuffix("Type"))
        except (KeyError, ValueError):
            return None
    return None


def test_a_table_for_every_mapped_resource_type() -> None:
    assert set(TABLES) == set(MODULES)


@pytest.mark.parametrize("resource", sorted(MODULES))
def test_every_row_names_an_element_of_the_fhir_r4_resource(resource: str) -> None:
    model = _model(resource)
    table = TABLES[resource]
    rows = [e.plain_path() for p in table.profiles for e in p.elements]
    missing = [path for path in rows + list(table.accepted) if not _has_path(model, path)]
    assert not missing, f"{resource}: no such element {missing}"


@pytest.mark.parametrize("resource", sorted(MODULES))
def test_every_row_fills_an_ontology_property(resource: str, knowledge: Knowledge) -> None:
    for profile in TABLES[resource].profiles:
        for element in profile.elements:
            if element.property.startswith("ip:"):
                assert (curie(element.property), None, None) in knowledge.ontology, element.property
            for value in element.values.values():
                if isinstance(value, str):
                    assert (curie(value), None, None) in knowledge.ontology, value


def test_terminology_codes_map_to_condition_types_or_observation_kinds(knowledge: Knowledge) -> None:
    terminology = load_terminology()
    assert terminology.version
    assert len(terminology.codes) >= 20
    condition_type = curie("ip:conditionType")
    for (system, code), (term, display) in terminology.codes.items():
        assert terminology.system(system) is not None and display
        assert (term, None, None) in knowledge.ontology, f"{system}#{code}: {term} is not in the ontology"
        assert in_range(knowledge.ontology, condition_type, term) or term == curie("ip:PainAssessment"), (system, code)


def test_code_systems_carry_uris_and_versions_where_listed() -> None:
    systems = {s.key: s for s in load_terminology().systems.values()}
    assert systems["icd10cm"].uri == "http://hl7.org/fhir/sid/icd-10-cm" and systems["icd10cm"].version
    assert systems["snomed"].uri == "http://snomed.info/sct"
    assert systems["loinc"].uri == "http://loinc.org"
    assert systems["cpt"].complete and not systems["icd10cm"].complete
