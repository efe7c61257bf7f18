"""Therapy as ranges (kb/pipeline/therapy.py): documented and possible failed therapy days, the active
component, ongoing therapy, and the pain onset range, on small cases enriched end to end."""

from __future__ import annotations

import datetime as dt

from rdflib import Graph, Literal, URIRef

from kb.knowledge import Knowledge
from kb.namespaces import IP
from kb.pipeline import therapy
from kb.pipeline.caseform import check_case_form
from kb.pipeline.enrichment import Enricher, enrich, select_guideline

PREFIXES = """
@prefix ip:   <https://w3id.org/ipkg/ontology#> .
@prefix case: <https://w3id.org/ipkg/case/> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
"""

REQUEST = """
case:r a ip:PriorAuthorizationRequest ; ip:forPatient case:p ; ip:cptCode ip:CPT_64483 ;
    ip:dateOfService "2024-06-10"^^xsd:date ; ip:spinalRegion ip:Lumbar ; ip:memberState "TX" .
case:p a ip:Patient ; ip:birthDate "1975-03-02"^^xsd:date .
"""


def _case(body: str) -> Graph:
    return Graph().parse(data=PREFIXES + REQUEST + body, format="turtle")


def _enriched(body: str, knowledge: Knowledge) -> tuple[Graph, URIRef]:
    case = _case(body)
    request = check_case_form(case, knowledge, "test")
    enrich(case, request, knowledge, "test")
    return case, request


def _int(graph: Graph, request: URIRef, prop: URIRef) -> int:
    value = graph.value(request, prop)
    assert isinstance(value, Literal), prop
    result = value.toPython()
    assert isinstance(result, int)
    return result


def _days(graph: Graph, request: URIRef) -> tuple[int, int, int, int]:
    return (
        _int(graph, request, IP.failedTherapyDays),
        _int(graph, request, IP.possibleFailedTherapyDays),
        _int(graph, request, IP.failedTherapyDaysLast6Months),
        _int(graph, request, IP.possibleFailedTherapyDaysLast6Months),
    )


PT_60_DAYS = """
case:p ip:hasTherapyEpisode case:pt .
case:pt a ip:ConservativeTherapyEpisode ; ip:modality ip:PhysicalTherapy ; ip:targetsRegion ip:Lumbar ;
    ip:startDate "2024-03-01"^^xsd:date ; ip:endDate "2024-04-29"^^xsd:date ; ip:failedToRespond true .
"""
NSAID_UNKNOWN = """
case:p ip:hasTherapyEpisode case:nsaid .
case:nsaid a ip:ConservativeTherapyEpisode ; ip:modality ip:Medications ; ip:targetsRegion ip:Lumbar ;
    ip:startDate "2024-05-21"^^xsd:date .
"""


def test_documented_failed_days_ignore_an_episode_with_unknown_response(knowledge: Knowledge) -> None:
    graph, request = _enriched(PT_60_DAYS + NSAID_UNKNOWN, knowledge)
    documented, possible, documented6, possible6 = _days(graph, request)
    assert documented == documented6 == 60
    # the NSAID runs 2024-05-21 .. 2024-06-10 (21 days, ongoing): possible only
    assert possible == possible6 == 81
    assert set(graph.objects(request, IP.unknownTherapyEpisode)) == {URIRef("https://w3id.org/ipkg/case/nsaid")}
    assert graph.value(request, IP.documentedActiveFailedTherapy) == Literal(True)


def test_short_recent_therapy_cannot_reach_six_weeks(knowledge: Knowledge) -> None:
    body = """
case:p ip:hasTherapyEpisode case:pt, case:nsaid .
case:pt a ip:ConservativeTherapyEpisode ; ip:modality ip:PhysicalTherapy ; ip:targetsRegion ip:Lumbar ;
    ip:startDate "2024-05-22"^^xsd:date ; ip:failedToRespond true .
case:nsaid a ip:ConservativeTherapyEpisode ; ip:modality ip:Medications ; ip:targetsRegion ip:Lumbar ;
    ip:startDate "2024-05-22"^^xsd:date .
"""
    graph, request = _enriched(body, knowledge)
    assert _days(graph, request) == (20, 20, 20, 20)


def test_episode_without_region_counts_only_as_possible(knowledge: Knowledge) -> None:
    body = """
case:p ip:hasTherapyEpisode case:pt .
case:pt a ip:ConservativeTherapyEpisode ; ip:modality ip:PhysicalTherapy ;
    ip:startDate "2024-03-01"^^xsd:date ; ip:endDate "2024-04-29"^^xsd:date ; ip:failedToRespond true .
"""
    graph, request = _enriched(body, knowledge)
    assert _days(graph, request) == (0, 60, 0, 60)
    assert graph.value(request, IP.documentedActiveFailedTherapy) == Literal(False)
    assert graph.value(request, IP.possibleActiveFailedTherapy) == Literal(True)
    assert graph.value(request, IP.regionTherapyRecorded) == Literal(True)


def test_other_region_and_documented_absent_episodes_never_count(knowledge: Knowledge) -> None:
    body = """
case:p ip:hasTherapyEpisode case:neck, case:none .
case:neck a ip:ConservativeTherapyEpisode ; ip:modality ip:PhysicalTherapy ; ip:targetsRegion ip:Cervical ;
    ip:startDate "2024-03-01"^^xsd:date ; ip:endDate "2024-04-29"^^xsd:date ; ip:failedToRespond true .
case:none a ip:ConservativeTherapyEpisode ; ip:modality ip:ChiropracticCare ; ip:targetsRegion ip:Lumbar ;
    ip:startDate "2024-03-01"^^xsd:date ; ip:present false .
"""
    graph, request = _enriched(body, knowledge)
    assert _days(graph, request) == (0, 0, 0, 0)
    assert graph.value(request, IP.regionTherapyRecorded) is None
    # the only ongoing episode is documented absent; the cervical one ended on 2024-04-29
    assert graph.value(request, IP.ongoingTherapyDocumented) == Literal(False)


def test_partial_dates_take_the_certain_and_the_favourable_ends(knowledge: Knowledge) -> None:
    body = """
case:p ip:hasTherapyEpisode case:pt .
case:pt a ip:ConservativeTherapyEpisode ; ip:modality ip:PhysicalTherapy ; ip:targetsRegion ip:Lumbar ;
    ip:startDate "2024-03"^^xsd:gYearMonth ; ip:endDate "2024-04"^^xsd:gYearMonth ; ip:failedToRespond true .
"""
    graph, request = _enriched(body, knowledge)
    # documented: 2024-03-31 .. 2024-04-01 (2 days); possible: 2024-03-01 .. 2024-04-30 (61 days)
    assert _days(graph, request) == (2, 61, 2, 61)


def test_episode_without_start_date(knowledge: Knowledge) -> None:
    body = """
case:p ip:hasTherapyEpisode case:hep .
case:hep a ip:ConservativeTherapyEpisode ; ip:modality ip:HomeExerciseProgram ; ip:targetsRegion ip:Lumbar ;
    ip:ongoing true ; ip:failedToRespond true .
"""
    graph, request = _enriched(body, knowledge)
    documented, possible, documented6, possible6 = _days(graph, request)
    assert documented == documented6 == 0
    # possible: from the window start (2023-12-10) to the date of service; unbounded: from the birth date
    assert possible6 == (dt.date(2024, 6, 10) - dt.date(2023, 12, 10)).days + 1
    assert possible == (dt.date(2024, 6, 10) - dt.date(1975, 3, 2)).days + 1
    assert graph.value(request, IP.ongoingTherapyDocumented) == Literal(True)


def test_therapy_days_function_takes_region_window_and_predicate(knowledge: Knowledge) -> None:
    case = _case(PT_60_DAYS + NSAID_UNKNOWN)
    request = check_case_form(case, knowledge, "test")
    guideline = select_guideline(case, request, knowledge, "test")
    enricher = Enricher(case, request, knowledge, guideline)
    meds = lambda e: e.modality == IP.Medications  # noqa: E731
    assert therapy.therapy_days(enricher, documented=True) == 60
    assert therapy.therapy_days(enricher, region=IP.Cervical, documented=False) == 0
    assert therapy.therapy_days(enricher, documented=False, predicate=meds) == 21
    assert therapy.therapy_days(enricher, documented=True, predicate=meds) == 0
    assert therapy.therapy_days(enricher, window_start=dt.date(2024, 4, 20), documented=True) == 10


def _onset(body: str, knowledge: Knowledge) -> tuple[object, object, object]:
    graph, request = _enriched(body, knowledge)
    return (
        graph.value(request, IP.painOnsetEarliest),
        graph.value(request, IP.painOnsetLatest),
        graph.value(request, IP.currentPainOnset),
    )


def _date(text: str) -> Literal:
    return Literal(dt.date.fromisoformat(text))


def test_pain_onset_ranges(knowledge: Knowledge) -> None:
    assessment = """
case:p ip:hasPainAssessment case:a .
case:a a ip:PainAssessment ; ip:assessedOn "2024-06-01"^^xsd:date ; {facts} .
"""
    year = _onset(assessment.replace("{facts}", 'ip:painOnsetDate "2021"^^xsd:gYear'), knowledge)
    assert (year[0], year[1], year[2]) == (_date("2021-01-01"), _date("2021-12-31"), None)
    day = _onset(assessment.replace("{facts}", 'ip:painOnsetDate "2024-01-15"^^xsd:date'), knowledge)
    assert day == (_date("2024-01-15"), _date("2024-01-15"), _date("2024-01-15"))
    chronic = _onset(assessment.replace("{facts}", "ip:chronicPain true"), knowledge)
    assert chronic == (None, _date("2024-03-03"), None)  # 90 days before the assessment
    bound = _onset(assessment.replace("{facts}", "ip:painDurationAtLeastMonths 6"), knowledge)
    assert bound == (None, _date("2023-12-01"), None)
    narrowed = _onset(assessment.replace("{facts}", 'ip:painOnsetDate "2024"^^xsd:gYear ; ip:chronicPain true'), knowledge)
    assert narrowed == (_date("2024-01-01"), _date("2024-03-03"), None)
