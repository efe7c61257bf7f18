"""The linear scan of SPARQL text that runs before any parser (kb/store/sparql_scan.py)."""

from __future__ import annotations

import time

import pytest

from kb.store.base import QueryRefusedError
from kb.store.sparql_scan import check_text, looks_like_update, mentions_service, scan

ESCAPED_SERVICE = 'ASK { BIND("\\u0022" AS ?a) SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } BIND("\\u0022" AS ?b) }'


def test_brackets_inside_strings_iris_and_comments_do_not_count() -> None:
    text = 'SELECT * WHERE { ?s ?p "((((((" . ?s ?p <http://x/(((> # {{{{{{\n FILTER((?o)) }'
    assert scan(text, 10).depth == 3


def test_nesting_is_refused_past_the_limit() -> None:
    assert scan("ASK {" + "{" * 9 + "}" * 9 + "}", 10).depth == 10
    with pytest.raises(QueryRefusedError, match="more than 10 levels"):
        scan("ASK {" + "{" * 10 + "}" * 10 + "}", 10)


def test_a_huge_nesting_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(QueryRefusedError):
        scan("ASK { FILTER(" + "(" * 500_000 + "1" + ")" * 500_000 + ") }", 64)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * WHERE { SERVICE <http://a/> { ?s ?p ?o } }",
        "select * where { service silent <http://a/> { ?s ?p ?o } }",
        ESCAPED_SERVICE,
        "SELECT * WHERE { SeRvIcE ?endpoint { ?s ?p ?o } }",
    ],
)
def test_service_is_found(text: str) -> None:
    assert mentions_service(text)
    with pytest.raises(QueryRefusedError, match="SERVICE"):
        check_text(text, 64, 32, 0)


@pytest.mark.parametrize(
    "text",
    [
        'SELECT * WHERE { ?s ?p "the service was delivered" }',
        "SELECT ?service WHERE { ?service <https://w3id.org/ipkg/ontology#dateOfService> ?d }",
        "PREFIX ip: <https://w3id.org/ipkg/ontology#> SELECT * WHERE { ?s ip:dateOfService ?d } # SERVICE",
    ],
)
def test_the_word_elsewhere_is_not_service(text: str) -> None:
    assert not mentions_service(text)
    check_text(text, 64, 32, 0)


def test_graph_count_includes_protocol_parameters() -> None:
    text = "SELECT * FROM <http://g/1> FROM NAMED <http://g/2> WHERE { ?s ?p ?o }"
    assert check_text(text, 64, 4, 2).dataset_clauses == 2
    with pytest.raises(QueryRefusedError, match="names 5 graphs"):
        check_text(text, 64, 4, 3)


def test_from_iris_are_resolved() -> None:
    text = "BASE <http://b/> PREFIX g: <http://g/> SELECT * FROM <rel> FROM NAMED g:two WHERE { ?s ?p 'FROM <no>' }"
    assert scan(text, 64).dataset_iris == ("http://b/rel", "http://g/two")
    assert scan("SELECT * FROM <rel> WHERE {}", 64, "http://endpoint/sparql").dataset_iris == ("http://endpoint/rel",)


@pytest.mark.parametrize(
    ("text", "update"),
    [
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", True),
        ("PREFIX x: <urn:x> DELETE WHERE { ?s ?p ?o }", True),
        ("drop all", True),
        ("SELECT * WHERE { ?s ?p ?o }", False),
        ("PREFIX insert: <urn:x> ASK {}", False),
    ],
)
def test_updates_are_recognised(text: str, update: bool) -> None:
    assert looks_like_update(scan(text, 64)) is update
