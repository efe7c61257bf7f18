"""Facts as records hold them: relief as a bound or in hours, prior procedures known by kind only,
non-spinal surgery, side and level on conditions (docs/case-format.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import Graph, Literal, URIRef

from kb.errors import CaseFormError
from kb.knowledge import Knowledge
from kb.namespaces import IP
from kb.pipeline.caseform import check_case_form
from kb.pipeline.enrichment import Enricher, enrich, select_guideline

CASE = """
@prefix ip:   <https://w3id.org/ipkg/ontology#> .
@prefix case: <https://w3id.org/ipkg/case/> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
case:r a ip:PriorAuthorizationRequest ; ip:forPatient case:p ; ip:cptCode ip:CPT_64493 ;
    ip:dateOfService "2024-06-10"^^xsd:date ; ip:spinalRegion ip:Lumbar ; ip:memberState "TX" .
case:p a ip:Patient ; ip:birthDate "1975-03-02"^^xsd:date ;
    ip:hasProcedureRecord case:mbb, case:hours, case:months ;
    ip:hasSurgery case:knee ;
    ip:hasCondition case:stenosis .
case:mbb a ip:ProcedureRecord ; ip:procedureKind ip:MedialBranchBlock ; ip:spinalRegion ip:Lumbar ;
    ip:performedOn "2024-05-01"^^xsd:date ; ip:reliefPercentAtLeast 60 .
case:hours a ip:ProcedureRecord ; ip:cptCode ip:CPT_64493 ; ip:spinalRegion ip:Lumbar ;
    ip:performedOn "2024-05-15"^^xsd:date ; ip:reliefPercentAtMost 50 ; ip:reliefDurationHours 6 .
case:months a ip:ProcedureRecord ; ip:cptCode ip:CPT_64493 ; ip:spinalRegion ip:Cervical ;
    ip:performedOn "2024-01-31"^^xsd:date ; ip:reliefPercent 80 ; ip:reliefDurationAtLeastMonths 1 .
case:knee a ip:Surgery ; ip:bodySite "right knee" ; ip:performedOn "2023-01-10"^^xsd:date .
case:stenosis a ip:Condition ; ip:conditionType ip:SpinalStenosis ; ip:spinalRegion ip:Lumbar ;
    ip:spinalLevel "L4-L5" ; ip:side ip:Left .
"""
C = "https://w3id.org/ipkg/case/"


def _enriched(knowledge: Knowledge, text: str = CASE) -> Graph:
    case = Graph().parse(data=text, format="turtle")
    request = check_case_form(case, knowledge, "test")
    enrich(case, request, knowledge, "test")
    return case


def _value(graph: Graph, node: str, prop: URIRef) -> object:
    value = graph.value(URIRef(C + node), prop)
    return value.toPython() if isinstance(value, Literal) else value


def test_relief_bounds_and_hours_give_ranges(knowledge: Knowledge) -> None:
    g = _enriched(knowledge)
    assert (_value(g, "mbb", IP.reliefPercentMin), _value(g, "mbb", IP.reliefPercentMax)) == (Decimal(60), Decimal(100))
    assert _value(g, "mbb", IP.reliefDaysMin) is None  # no duration recorded: unknown
    assert (_value(g, "hours", IP.reliefPercentMin), _value(g, "hours", IP.reliefPercentMax)) == (Decimal(0), Decimal(50))
    assert (_value(g, "hours", IP.reliefDaysMin), _value(g, "hours", IP.reliefDaysMax)) == (0, 0)
    assert (_value(g, "months", IP.reliefPercentMin), _value(g, "months", IP.reliefPercentMax)) == (Decimal(80), Decimal(80))
    # one calendar month from 2024-01-31 is 2024-02-29: 29 days at least, no upper bound
    assert (_value(g, "months", IP.reliefDaysMin), _value(g, "months", IP.reliefDaysMax)) == (29, None)


def test_a_procedure_known_by_kind_counts_without_a_code(knowledge: Knowledge) -> None:
    case = Graph().parse(data=CASE, format="turtle")
    request = check_case_form(case, knowledge, "test")
    enricher = Enricher(case, request, knowledge, select_guideline(case, request, knowledge, "test"))
    by_node = {str(p.node): p for p in enricher.procedures()}
    mbb = by_node[C + "mbb"]
    assert mbb.cpt.code == "" and mbb.cpt.procedure == IP.MedialBranchBlock
    assert IP.NIA_CG_301 in mbb.cpt.guidelines and IP.Lumbar in mbb.cpt.regions
    assert (URIRef(C + "mbb"), IP.cptCode, None) not in case  # no code invented
    assert mbb.same_kind_as(IP.NIA_CG_301, None)


def test_an_unknown_procedure_kind_is_rejected(knowledge: Knowledge) -> None:
    text = CASE.replace("ip:procedureKind ip:MedialBranchBlock", "ip:procedureKind ip:Lumbar")
    with pytest.raises(CaseFormError) as info:
        check_case_form(Graph().parse(data=text, format="turtle"), knowledge, "test")
    assert "ip:procedureKind: unknown procedure class ip:Lumbar" in str(info.value)


def test_a_record_needs_a_code_or_a_kind(knowledge: Knowledge) -> None:
    text = CASE.replace("ip:procedureKind ip:MedialBranchBlock ;", "")
    with pytest.raises(CaseFormError) as info:
        check_case_form(Graph().parse(data=text, format="turtle"), knowledge, "test")
    assert "needs its ip:cptCode, or its ip:procedureKind" in str(info.value)


def test_non_spinal_surgery_and_condition_side_are_accepted_and_checked(knowledge: Knowledge) -> None:
    g = _enriched(knowledge)
    assert _value(g, "knee", IP.bodySite) == "right knee"
    assert g.value(URIRef(C + "r"), IP.newEpisodeStartedBy) is None  # a knee surgery starts no spinal episode
    text = CASE.replace('ip:spinalLevel "L4-L5" ; ip:side ip:Left', 'ip:spinalLevel "L4/5" ; ip:side ip:Up')
    with pytest.raises(CaseFormError) as info:
        check_case_form(Graph().parse(data=text, format="turtle"), knowledge, "test")
    assert "ip:spinalLevel must be a level" in str(info.value) and "ip:side must be one of" in str(info.value)


def test_a_new_pathology_known_to_the_month_starts_a_new_episode(knowledge: Knowledge) -> None:
    text = """
@prefix ip:   <https://w3id.org/ipkg/ontology#> .
@prefix case: <https://w3id.org/ipkg/case/> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
case:r a ip:PriorAuthorizationRequest ; ip:forPatient case:p ; ip:cptCode ip:CPT_64483 ;
    ip:dateOfService "2024-06-10"^^xsd:date ; ip:spinalRegion ip:Lumbar ; ip:memberState "TX" .
case:p a ip:Patient ;
    ip:hasProcedureRecord [ a ip:ProcedureRecord ; ip:cptCode ip:CPT_64483 ; ip:spinalRegion ip:Lumbar ;
        ip:performedOn "2024-04-01"^^xsd:date ] ;
    ip:hasCondition case:hnp .
case:hnp a ip:Condition ; ip:conditionType ip:SpinalStenosis ; ip:spinalRegion ip:Lumbar ;
    ip:newPathology true ; ip:diagnosedOn "2024-05"^^xsd:gYearMonth .
"""
    g = _enriched(knowledge, text)
    assert g.value(URIRef(C + "r"), IP.newEpisodeStartedBy) == URIRef(C + "hnp")
    assert g.value(URIRef(C + "r"), IP.reviewPhase) == IP.InitialPhase
