"""Criteria shared between guidelines (ip:alsoStatedIn) and the quality checks that keep sharing honest.

A criterion is modeled once when several guidelines print the same text with the same meaning: the
pathways of each guideline list it, its one shape targets each guideline's review contexts, and
ip:alsoStatedIn names every further section that prints it. The checks below must catch a pathway
listing another guideline's criterion that is not declared shared, and a shape applied to another
guideline's requests without the declaration (or a declaration without the shape target).
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from kb.knowledge import Knowledge
from kb.namespaces import IP

QUALITY = Path(__file__).resolve().parent / "quality"
PREFIXES = """PREFIX ip: <https://w3id.org/ipkg/ontology#>
PREFIX ips: <https://w3id.org/ipkg/shapes#>
PREFIX sh: <http://www.w3.org/ns/shacl#>
"""


def _rows(knowledge: Knowledge, check: str, insert: str) -> list[tuple[str, ...]]:
    graph: Graph = knowledge.ontology + knowledge.shapes
    graph.update(PREFIXES + f"INSERT DATA {{ {insert} }}")
    query = (QUALITY / check).read_text(encoding="utf-8")
    return [tuple(str(v) for v in row) for row in graph.query(query)]  # type: ignore[union-attr]


def test_pathway_check_catches_an_undeclared_foreign_criterion(knowledge: Knowledge) -> None:
    rows = _rows(knowledge, "pathway-guideline-violation.rq", "ip:CG300-PW-ACUTE ip:hasCriterion ip:CG301-AXIAL .")
    assert rows == [(str(IP["CG300-PW-ACUTE"]), str(IP["CG301-AXIAL"]))]


def test_pathway_check_accepts_a_declared_shared_criterion(knowledge: Knowledge) -> None:
    assert _rows(knowledge, "pathway-guideline-violation.rq", "") == []
    assert IP["CG300-PAIN"] in next(p for p in knowledge.pathways[IP.NIA_CG_408] if p.iri == IP["CG408-PW-ACUTE"]).criteria


def test_target_check_catches_an_undeclared_shape_target(knowledge: Knowledge) -> None:
    rows = _rows(knowledge, "shared-criterion-target-violation.rq", "ips:CG300-ACU-DUR sh:targetClass ip:CG301Review .")
    assert (str(IP["CG300-ACU-DUR"]), str(IP.NIA_CG_301)) in rows


def test_target_check_catches_a_declaration_without_a_shape_target(knowledge: Knowledge) -> None:
    insert = "ip:CG300-ACU-RADIC ip:alsoStatedIn ip:CG302-SEC-INDICATIONS ."
    rows = _rows(knowledge, "shared-criterion-target-violation.rq", insert)
    assert rows == [(str(IP["CG300-ACU-RADIC"]), str(IP.NIA_CG_302))]


def test_shape_criterion_count_catches_a_shape_with_two_criteria(knowledge: Knowledge) -> None:
    rows = _rows(knowledge, "shape-criterion-count-violation.rq", "ips:CG301-DUR ip:criterion ip:CG301-AXIAL .")
    assert {r[0] for r in rows} == {"https://w3id.org/ipkg/shapes#CG301-DUR"}


def test_a_shared_criterion_is_one_criterion_with_one_shape(knowledge: Knowledge) -> None:
    pain = knowledge.criteria[IP["CG300-PAIN"]]
    assert {IP.CG300InitialReview, IP.CG301InitialReview, IP.CG408InitialReview} <= pain.target_classes
    cited = pain.cited_for(IP.NIA_CG_408)
    assert (cited.iri, cited.guideline_number, cited.section) == (pain.iri, "NIA_CG_408", IP["CG408-SEC-INDICATIONS"])
    assert pain.cited_for(IP.NIA_CG_300) is pain
