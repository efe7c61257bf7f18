"""The batch case graph's store answers every pattern as rdflib's plain store does (kb.batch.casestore)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from kb.batch.casegraph import CaseGraph
from kb.batch.casestore import CaseStore

_SUBJECTS = [URIRef("urn:case:a"), URIRef("urn:case:b"), BNode("b0"), BNode("b1")]
_PREDICATES = [RDF.type, URIRef("urn:p"), URIRef("urn:q")]
_OBJECTS = [
    URIRef("urn:case:a"),
    URIRef("urn:C"),
    BNode("b0"),
    Literal("5", datatype=XSD.integer),
    Literal("05", datatype=XSD.integer),
    Literal("a"),
    Literal("a", lang="en"),
]
_triples = st.tuples(st.sampled_from(_SUBJECTS), st.sampled_from(_PREDICATES), st.sampled_from(_OBJECTS))
_patterns = list(itertools.product([None, *_SUBJECTS], [None, *_PREDICATES], [None, *_OBJECTS]))


def _both(added: list[tuple[URIRef | BNode, URIRef, URIRef | BNode | Literal]]) -> tuple[Graph, Graph]:
    reference = Graph(store="SimpleMemory")
    case = CaseGraph()
    for triple in added:
        reference.add(triple)
    case.add_all(added)  # as a parsed case is filled (kb.batch.parsing.graph_of)
    return reference, case


def _same_answers(reference: Graph, case: Graph) -> None:
    assert len(case) == len(reference)
    for s, p, o in _patterns:
        assert list(case.triples((s, p, o))) == list(reference.triples((s, p, o))), (s, p, o)
        if o is None:
            assert list(case.objects(s, p)) == list(reference.objects(s, p))
        if s is None:
            assert list(case.subjects(p, o)) == list(reference.subjects(p, o))
        assert ((s, p, o) in case) == ((s, p, o) in reference)


@settings(max_examples=60, deadline=None)
@given(st.lists(_triples, max_size=25), st.lists(_triples, max_size=6), st.lists(_triples, max_size=6))
def test_every_pattern_is_answered_as_rdflibs_plain_store_answers_it(
    added: list[tuple[URIRef | BNode, URIRef, URIRef | BNode | Literal]],
    removed: list[tuple[URIRef | BNode, URIRef, URIRef | BNode | Literal]],
    added_again: list[tuple[URIRef | BNode, URIRef, URIRef | BNode | Literal]],
) -> None:
    reference, case = _both(added)
    _same_answers(reference, case)
    for triple in removed:
        reference.remove(triple)
        case.remove(triple)
    _same_answers(reference, case)
    for triple in added_again:  # a removed triple comes back in the place it had
        reference.add(triple)
        case.add(triple)
    _same_answers(reference, case)


def test_a_pattern_removal_removes_every_match_and_the_count_follows() -> None:
    reference, case = _both([(s, p, o) for s in _SUBJECTS for p in _PREDICATES for o in _OBJECTS[:3]])
    assert len(case) == len(_SUBJECTS) * len(_PREDICATES) * 3
    reference.remove((None, RDF.type, None))
    case.remove((None, RDF.type, None))
    assert not list(case.triples((None, RDF.type, None)))
    _same_answers(reference, case)


def test_adding_a_triple_twice_keeps_one() -> None:
    case = CaseGraph()
    triple = (URIRef("urn:case:a"), URIRef("urn:p"), Literal(1))
    case.add(triple)
    case.add(triple)
    assert len(case) == 1
    assert list(case) == [triple]


def test_a_property_path_and_a_term_of_another_kind_go_through_rdflib() -> None:
    case = CaseGraph()
    case.add((URIRef("urn:case:a"), RDF.type, URIRef("urn:C")))
    case.add((URIRef("urn:C"), RDFS.subClassOf, URIRef("urn:D")))
    path = RDF.type / (RDFS.subClassOf * "*")  # type: ignore[operator]
    assert set(case.objects(URIRef("urn:case:a"), path)) == {URIRef("urn:C"), URIRef("urn:D")}
    try:
        case.add((URIRef("urn:case:a"), "urn:p", URIRef("urn:C")))  # type: ignore[arg-type]
    except AssertionError as exc:  # rdflib's own check of the terms
        assert "must be an rdflib term" in str(exc)
    else:
        raise AssertionError("a plain string was taken as a predicate")
    assert len(case) == 2
    try:
        case.add_all([(URIRef("urn:case:b"), RDF.type, URIRef("urn:C")), (URIRef("urn:case:b"), "urn:p", Literal(1))])  # type: ignore[list-item]
    except AssertionError as exc:  # the same check for a batch of triples
        assert "must be an rdflib term" in str(exc)
    else:
        raise AssertionError("a plain string was taken as a predicate")


def test_sparql_and_serialization_read_the_case_store() -> None:
    case = CaseGraph()
    case.bind("ex", URIRef("urn:ex:"))
    case.add((URIRef("urn:ex:a"), RDF.type, URIRef("urn:ex:C")))
    rows = list(case.query("SELECT ?s WHERE { ?s a <urn:ex:C> }"))
    assert [row[0] for row in rows] == [URIRef("urn:ex:a")]  # type: ignore[index]
    assert "ex:a a ex:C" in case.serialize(format="turtle")
    assert isinstance(case.store, CaseStore)
    assert ("ex", URIRef("urn:ex:")) in list(case.namespaces())
