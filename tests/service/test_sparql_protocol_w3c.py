"""The W3C SPARQL 1.1 Protocol tests (data/sparql11-protocol.toml) against the running service.

Every query test passes; every update test gets a clear refusal, the endpoint being read-only.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from kb.store.embedded import EmbeddedStore
from tests.service.server import READ_TOKEN, Server, auth, running

CASES: list[dict[str, Any]] = tomllib.loads((Path(__file__).parent / "data" / "sparql11-protocol.toml").read_text())["test"]
KASEI = "http://kasei.us/2009/09/sparql/data/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document"
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module")
def protocol_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("protocol")
    store = EmbeddedStore(directory / "store")
    try:
        store.put_graphs({
            f"{KASEI}data{n}.rdf": [(("u", f"{KASEI}data{n}.rdf"), ("u", RDF_TYPE), ("u", FOAF_DOCUMENT))] for n in (1, 2, 3)
        })
    finally:
        store.close()
    with running(directory) as srv:
        yield srv


def _count(server: Server) -> int:
    response = httpx.get(f"{server.url}/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"},
                         headers=auth(READ_TOKEN))
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _boolean(response: httpx.Response) -> bool:
    if response.headers["content-type"].startswith("application/sparql-results+json"):
        return bool(json.loads(response.content)["boolean"])
    text = ElementTree.fromstring(response.content).findtext(f"{RESULTS_NS}boolean")
    return text == "true"


def _rows(response: httpx.Response) -> int:
    if response.headers["content-type"].startswith("application/sparql-results+json"):
        return len(json.loads(response.content)["results"]["bindings"])
    return len(ElementTree.fromstring(response.content).findall(f"{RESULTS_NS}results/{RESULTS_NS}result"))


@pytest.mark.parametrize("case", CASES, ids=[c["iri"].rsplit("#", 1)[1] for c in CASES])
def test_w3c_protocol(protocol_server: Server, case: dict[str, Any]) -> None:
    before = _count(protocol_server) if case.get("refused") else None
    headers = {**auth(READ_TOKEN)}
    if "content_type" in case:
        headers["content-type"] = case["content_type"]
    body = case.get("body", "").encode(case.get("body_encoding", "utf-8")) if "body" in case else None
    response = httpx.request(case["method"], protocol_server.url + case["path"], content=body, headers=headers, timeout=30)
    if case.get("refused"):
        assert response.status_code in (400, 405), response.text
        assert response.json()["title"] == "Updates are refused"
        assert _count(protocol_server) == before
        return
    if case["expect_status"] == "4xx":
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        return
    assert 200 <= response.status_code < 400, response.text
    media = response.headers["content-type"].split(";")[0].strip()
    if "expect_types" in case:
        assert media in case["expect_types"]
    if "expect_boolean" in case:
        assert _boolean(response) is case["expect_boolean"]
    if "expect_rows" in case:
        assert _rows(response) == case["expect_rows"]
