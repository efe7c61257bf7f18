"""The read-only SPARQL 1.1 endpoint: protocol, formats, refusals, time limit and row cap."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import httpx
import pytest
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, TURTLE, XML, SPARQLWrapper

from tests.service.server import READ_TOKEN, Server, auth, running

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CRITERIA = """PREFIX ip: <https://w3id.org/ipkg/ontology#>
SELECT ?id ?text WHERE { ?c ip:criterionId ?id ; ip:verbatimText ?text } ORDER BY ?id"""
CONSTRUCT = "PREFIX ip: <https://w3id.org/ipkg/ontology#> CONSTRUCT { ?c ip:criterionId ?id } WHERE { ?c ip:criterionId ?id }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?v{i} {{ 1 2 3 4 5 6 7 8 9 10 11 12 }}" for i in range(9)
) + " }"


def _count(server: Server) -> int:
    body = httpx.get(f"{server.url}/sparql", params={"query": COUNT}, headers=auth(READ_TOKEN)).json()
    return int(body["results"]["bindings"][0]["n"]["value"])


def test_get_post_form_and_direct(server: Server) -> None:
    get = httpx.get(f"{server.url}/sparql", params={"query": CRITERIA}, headers=auth(READ_TOKEN))
    form = httpx.post(f"{server.url}/sparql", data={"query": CRITERIA}, headers=auth(READ_TOKEN))
    direct = httpx.post(f"{server.url}/sparql", content=CRITERIA,
                        headers={**auth(READ_TOKEN), "content-type": "application/sparql-query"})
    assert get.status_code == form.status_code == direct.status_code == 200
    assert get.json() == form.json() == direct.json()
    assert len(get.json()["results"]["bindings"]) >= 36


def test_result_formats(server: Server) -> None:
    def fetch(accept: str) -> httpx.Response:
        return httpx.get(f"{server.url}/sparql", params={"query": CRITERIA}, headers={**auth(READ_TOKEN), "accept": accept})

    rows = fetch("text/csv")
    assert rows.headers["content-type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(rows.text)))
    assert parsed[0] == ["id", "text"] and len(parsed) >= 37
    tsv = fetch("text/tab-separated-values")
    assert tsv.text.splitlines()[0] == "?id\t?text"
    xml = fetch("application/sparql-results+xml")
    assert "<sparql" in xml.text and "CG300-PAIN" in xml.text
    assert fetch("image/png").status_code == 406
    ask = httpx.get(f"{server.url}/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=auth(READ_TOKEN)).json()
    assert ask["boolean"] is True
    for accept, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld"), ("application/n-triples", "nt")):
        response = httpx.get(f"{server.url}/sparql", params={"query": CONSTRUCT}, headers={**auth(READ_TOKEN), "accept": accept})
        assert len(Graph().parse(data=response.text, format=fmt)) >= 36
    describe = httpx.get(f"{server.url}/sparql", params={"query": "DESCRIBE <https://w3id.org/ipkg/ontology#CG300-PAIN>"},
                         headers=auth(READ_TOKEN))
    assert "Pain causing functional disability" in describe.text


def test_sparqlwrapper_unmodified(server: Server) -> None:
    client = SPARQLWrapper(f"{server.url}/sparql")
    client.addCustomHttpHeader("Authorization", f"Bearer {READ_TOKEN}")
    client.setQuery(CRITERIA)
    for fmt in (JSON, XML):
        client.setReturnFormat(fmt)
        result = client.query().convert()
        if fmt == JSON:
            assert isinstance(result, dict) and len(result["results"]["bindings"]) >= 36
        else:
            assert "CG300-PAIN" in result.toxml()  # type: ignore[union-attr]
    client.setQuery(CONSTRUCT)
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.query().convert(), format="turtle")
    assert len(graph) >= 36


def test_rdflib_sparqlstore_unmodified(server: Server) -> None:
    store = SPARQLStore(f"{server.url}/sparql", headers=auth(READ_TOKEN))
    graph = Graph(store=store)
    rows = list(graph.query(CRITERIA))
    assert len(rows) >= 36
    assert bool(graph.query("ASK { ?s ?p ?o }").askAnswer)


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"content": "INSERT DATA { <urn:a> <urn:b> <urn:c> }", "headers": {"content-type": "application/sparql-query"}}, 400),
        ({"content": "DROP ALL", "headers": {"content-type": "application/sparql-update"}}, 400),
        ({"data": {"update": "CLEAR ALL"}}, 400),
        ({"data": {"query": "DELETE WHERE { ?s ?p ?o }"}}, 400),
        ({"data": {"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"}}, 400),
        ({"data": {"query": "SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }"}}, 400),
        ({"data": {"query": "SELECT * FROM NAMED <file:///etc/passwd> WHERE { GRAPH ?g { ?s ?p ?o } }"}}, 400),
        ({"data": {"query": "SELEC nonsense"}}, 400),
        ({"data": {"query": ""}}, 400),
    ],
)
def test_hostile_requests_are_refused_and_the_store_is_unchanged(
    server: Server, request_kwargs: dict[str, object], status: int
) -> None:
    before = _count(server)
    response = httpx.post(f"{server.url}/sparql", headers={**auth(), **request_kwargs.pop("headers", {})},  # type: ignore[dict-item]
                          **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _count(server) == before


def test_from_a_graph_in_the_store_is_allowed(server: Server) -> None:
    query = "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/ipkg/graph/shapes> WHERE { ?s ?p ?o }"
    response = httpx.get(f"{server.url}/sparql", params={"query": query}, headers=auth(READ_TOKEN))
    assert response.status_code == 200


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("limited"), {"IPKG_QUERY_TIMEOUT_SECONDS": "2", "IPKG_ROW_CAP": "10"}) as srv:
        yield srv


def test_runaway_query_is_stopped_and_the_service_stays_responsive(limited_server: Server) -> None:
    started = time.monotonic()
    response = httpx.get(f"{limited_server.url}/sparql", params={"query": RUNAWAY}, headers=auth(READ_TOKEN), timeout=60)
    assert response.status_code == 503 and "time limit" in response.json()["title"].lower()
    assert time.monotonic() - started < 30
    assert httpx.get(f"{limited_server.url}/health", timeout=10).json()["status"] == "ok"
    assert _count(limited_server) > 0


def test_result_over_the_row_cap_is_an_error(limited_server: Server) -> None:
    response = httpx.get(f"{limited_server.url}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"},
                         headers=auth(READ_TOKEN))
    assert response.status_code == 422 and "more than 10 rows" in response.json()["detail"]
    small = httpx.get(f"{limited_server.url}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 10"},
                      headers=auth(READ_TOKEN))
    assert small.status_code == 200 and len(small.json()["results"]["bindings"]) == 10


def test_example_queries_are_offered(server: Server) -> None:
    examples = httpx.get(f"{server.url}/sparql/examples").json()
    assert len(examples) >= 12
    for example in examples:
        assert httpx.get(f"{server.url}/sparql", params={"query": example["query"]}, headers=auth(READ_TOKEN)).status_code == 200


