"""Prior procedures dated to the month or year are decided over the interval (kb/pipeline/partialdates.py).

The per-criterion fixtures hold one case of each outcome for a frequency limit and an interval limit
(CG300-F-12MO: ``met-injection-known-to-the-month-before-period``,
``not-met-injection-known-to-the-month-inside-period``, ``not-documented-injection-month-straddles-period``;
CG300-R-INIT: ``met-last-injection-known-to-the-month``,
``not-documented-last-injection-month-straddles-2-weeks``). These tests check what the determination
reports around them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from rdflib import XSD, Graph, Literal, URIRef

from kb.engine import determine_graph
from kb.errors import CaseFormError
from kb.knowledge import Knowledge
from kb.namespaces import IP
from kb.pipeline import partialdates
from kb.pipeline.caseform import check_case_form
from kb.pipeline.determination import NOT_DOCUMENTED, NOT_MET, PENDED, Determination

C = "https://w3id.org/ipkg/case/"
CASE = """
@prefix ip:   <https://w3id.org/ipkg/ontology#> .
@prefix case: <https://w3id.org/ipkg/case/> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
case:r a ip:PriorAuthorizationRequest ; ip:forPatient case:p ; ip:cptCode ip:CPT_64483 ;
    ip:dateOfService "2024-06-10"^^xsd:date ; ip:spinalRegion ip:Lumbar ; ip:spinalLevel "L4-L5" ;
    ip:side ip:Left ; ip:memberState "TX" ; ip:purpose ip:TherapeuticPainTreatment ;
    ip:imagingGuidance ip:FluoroscopicGuidance .
case:p a ip:Patient ; ip:birthDate "1970-05-14"^^xsd:date ;
    ip:hasPainAssessment [ a ip:PainAssessment ; ip:assessedOn "2024-06-05"^^xsd:date ; ip:painScore 7 ;
        ip:functionalDisability true ; ip:painCharacter ip:Radicular ] ;
    ip:hasTherapyEpisode [ a ip:ConservativeTherapyEpisode ; ip:modality ip:PhysicalTherapy ;
        ip:targetsRegion ip:Lumbar ; ip:startDate "2024-03-01"^^xsd:date ; ip:ongoing true ] ;
    ip:hasProcedureRecord case:last .
case:last a ip:ProcedureRecord ; ip:cptCode ip:CPT_64483 ; ip:spinalRegion ip:Lumbar ; ip:spinalLevel "L4-L5" ;
    ip:performedOn PERFORMED ; ip:reliefPercent 40 .
"""


def _case(performed: str) -> Graph:
    return Graph().parse(data=CASE.replace("PERFORMED", performed), format="turtle")


def _status(det: Determination, criterion_id: str) -> str:
    return next(r.status for r in det.results if r.criterion.id == criterion_id)


@pytest.mark.parametrize(
    ("performed", "status"),
    [
        ('"2024-04"^^xsd:gYearMonth', "met"),  # 41 to 70 days before the request
        ('"2024-05-01"^^xsd:date', "met"),  # the first day of May, as a full date
        ('"2024-05-31"^^xsd:date', NOT_MET),  # the last day of May: 10 days
        ('"2024-05"^^xsd:gYearMonth', NOT_DOCUMENTED),  # 10 to 40 days: either side of 2 weeks
    ],
)
def test_an_interval_limit_is_decided_when_every_day_gives_the_same_answer(
    performed: str, status: str, knowledge: Knowledge
) -> None:
    assert _status(determine_graph(_case(performed), "test", knowledge), "CG300-R-INIT") == status


def test_the_pend_names_the_partial_date(knowledge: Knowledge) -> None:
    det = determine_graph(_case('"2024-05"^^xsd:gYearMonth'), "test", knowledge)
    assert det.outcome == PENDED
    [(criterion, message)] = det.missing_documentation
    assert criterion == "CG300-R-INIT"
    assert "2024-05 (between 2024-05-01 and 2024-05-31)" in message
    # the report holds the same result, from the constraint the engine adds (shapes/partial-dates.ttl)
    constraints = set(det.report.objects(None, URIRef("http://www.w3.org/ns/shacl#sourceConstraint")))
    assert partialdates.CONSTRAINT in constraints
    assert knowledge.constraint_status[partialdates.CONSTRAINT] == IP.NotDocumented


def test_the_case_graph_keeps_the_date_as_recorded(knowledge: Knowledge) -> None:
    det = determine_graph(_case('"2024-05"^^xsd:gYearMonth'), "test", knowledge)
    assert set(det.case_graph.objects(URIRef(C + "last"), IP.performedOn)) == {Literal("2024-05", datatype=XSD.gYearMonth)}


def test_a_year_decides_when_the_whole_year_gives_one_answer(knowledge: Knowledge) -> None:
    det = determine_graph(_case('"2023"^^xsd:gYear'), "test", knowledge)
    # every day of 2023 is more than 2 weeks before the request; the relief of 40% reaches 30%
    assert _status(det, "CG300-R-INIT") == "met"


def test_days_from_the_date_of_service_on_are_not_read(knowledge: Knowledge) -> None:
    case = _case('"2024-06"^^xsd:gYearMonth')
    request = check_case_form(case, knowledge, "test")
    [date] = partialdates.partial_procedure_dates(case, request)
    assert (date.interval.earliest, date.interval.latest) == (dt.date(2024, 6, 1), dt.date(2024, 6, 9))
    # June 1-9 is 1 to 9 days before the request: under 2 weeks on every day
    assert _status(determine_graph(case, "test", knowledge), "CG300-R-INIT") == NOT_MET


def test_a_full_date_case_is_not_read_twice(knowledge: Knowledge) -> None:
    case = _case('"2024-04-15"^^xsd:date')
    request = check_case_form(case, knowledge, "test")
    assert partialdates.partial_procedure_dates(case, request) == []


def test_an_ill_formed_partial_date_is_refused(knowledge: Knowledge) -> None:
    with pytest.raises(CaseFormError, match="not a valid xsd:gYearMonth"):
        check_case_form(_case('"2024-13"^^xsd:gYearMonth'), knowledge, "test")
