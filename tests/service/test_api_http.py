"""The API over HTTP against a real uvicorn process on loopback."""

from __future__ import annotations

import json

import httpx
from rdflib import Graph
from rdflib.compare import isomorphic

from kb.engine import determine_file
from tests.service.server import READ_TOKEN, ROOT, Server, auth

EXAMPLE = ROOT / "examples" / "cases" / "cg300-acute-approved.ttl"
TURTLE = {"content-type": "text/turtle"}


def test_health_needs_no_token(server: Server) -> None:
    body = httpx.get(f"{server.url}/health").json()
    assert body["status"] == "ok" and body["store"] == "embedded"


def test_openapi_is_served(server: Server) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert {"/cases", "/determinations", "/determinations/{determination_id}/report", "/sparql", "/guidelines"} <= set(paths)


def test_store_case_then_determine_it(server: Server) -> None:
    created = httpx.post(f"{server.url}/cases", content=EXAMPLE.read_bytes(), headers={**auth(), **TURTLE})
    assert created.status_code == 201
    case_id = created.json()["id"]
    assert created.headers["location"] == f"/cases/{case_id}"
    det = httpx.post(f"{server.url}/determinations", json={"caseId": case_id}, headers=auth())
    assert det.status_code == 201
    body = det.json()
    assert body["outcome"] == "approved" and body["caseId"] == case_id
    assert det.headers["location"] == f"/determinations/{body['id']}"
    again = httpx.get(f"{server.url}{det.headers['location']}", headers=auth(READ_TOKEN))
    assert again.status_code == 200 and again.json() == body
    stored_case = Graph().parse(data=httpx.get(f"{server.url}/cases/{case_id}", headers=auth()).text, format="turtle")
    assert isomorphic(stored_case, Graph().parse(EXAMPLE))


def test_inline_determination_in_rdf_forms(server: Server) -> None:
    for accept, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld")):
        response = httpx.post(f"{server.url}/determinations", content=EXAMPLE.read_bytes(),
                              headers={**auth(), **TURTLE, "accept": accept})
        assert response.status_code == 201
        graph = Graph().parse(data=response.text, format=fmt)
        assert (None, None, None) in graph and "Determination" in response.text


def test_jsonld_case_is_accepted(server: Server) -> None:
    path = ROOT / "examples" / "cases" / "cg300-stenosis-approved.jsonld"
    response = httpx.post(f"{server.url}/determinations", content=path.read_bytes(),
                          headers={**auth(), "content-type": "application/ld+json"})
    assert response.status_code == 201 and response.json()["outcome"] == "approved"


def test_report_is_the_pyshacl_report(server: Server) -> None:
    det = httpx.post(f"{server.url}/determinations", content=EXAMPLE.read_bytes(), headers={**auth(), **TURTLE}).json()
    expected = determine_file(EXAMPLE).report
    for accept, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld"), ("application/n-triples", "nt")):
        response = httpx.get(f"{server.url}/determinations/{det['id']}/report", headers={**auth(), "accept": accept})
        assert response.status_code == 200
        assert isomorphic(Graph().parse(data=response.text, format=fmt), expected)


def test_list_filters_and_pages(server: Server) -> None:
    everything = httpx.get(f"{server.url}/determinations", params={"limit": 1000}, headers=auth()).json()
    assert everything["total"] >= 30
    denied = httpx.get(f"{server.url}/determinations", params={"outcome": "denied", "guideline": "NIA_CG_300"},
                       headers=auth()).json()
    assert denied["total"] > 0 and all(item["outcome"] == "denied" for item in denied["items"])
    dated = httpx.get(f"{server.url}/determinations", params={"from": "2024-06-10", "to": "2024-06-10",
                                                             "procedure": "64483"}, headers=auth()).json()
    assert all(i["dateOfService"] == "2024-06-10" and i["procedure"] == "64483" for i in dated["items"])
    first = httpx.get(f"{server.url}/determinations", params={"limit": 2}, headers=auth()).json()
    second = httpx.get(f"{server.url}{first['next']}", headers=auth()).json()
    assert len(first["items"]) == 2 and not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_guideline_knowledge(server: Server) -> None:
    guidelines = httpx.get(f"{server.url}/guidelines").json()
    assert {g["id"] for g in guidelines} >= {"NIA_CG_300", "NIA_CG_405"}
    cg300 = httpx.get(f"{server.url}/guidelines/NIA_CG_300").json()
    assert any(p["pathway"] == "ip:CG300-PW-ACUTE" for p in cg300["pathways"]) and "64483" in cg300["codes"]
    criterion = httpx.get(f"{server.url}/criteria/CG300-ACU-DUR").json()
    assert criterion["text"] == "Duration of pain < 3 months" and criterion["severity"] == "violation"
    procedures = httpx.get(f"{server.url}/procedures", params={"cpt": "64484"}).json()
    assert procedures[0]["addOn"] is True and procedures[0]["guidelines"] == ["NIA_CG_300", "NIA_CG_408"]
    assert httpx.get(f"{server.url}/criteria/NOPE").status_code == 404


def test_bad_input_gets_problem_details(server: Server) -> None:
    cases = [
        (b"this is not turtle", TURTLE, 400, "invalid Turtle"),
        (EXAMPLE.read_bytes().replace(b"ip:painScore 7", b"ip:painScore 11"), TURTLE, 422, "0 to 10"),
        (EXAMPLE.read_bytes().replace(b"CPT_64483", b"CPT_99999"), TURTLE, 422, "unknown CPT code"),
        (EXAMPLE.read_bytes().replace(b'"2024-06-10"', b'"2023-06-10"'), TURTLE, 422, "implementation date"),
        (b"<x/>", {"content-type": "application/xml"}, 415, "text/turtle"),
        (json.dumps({"@context": "https://example.org/ctx", "@id": "x"}).encode(),
         {"content-type": "application/ld+json"}, 400, "not fetched"),
    ]
    for body, headers, status, text in cases:
        for path in ("/cases", "/determinations"):
            response = httpx.post(f"{server.url}{path}", content=body, headers={**auth(), **headers})
            assert response.status_code == status, (path, text, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert text in response.text
    missing = httpx.post(f"{server.url}/determinations", json={"caseId": "nope"}, headers=auth())
    assert missing.status_code == 404


def test_unknown_determination_is_404(server: Server) -> None:
    for path in ("/determinations/nope", "/determinations/nope/report", "/cases/nope", "/determinations/..%2f..%2fx"):
        assert httpx.get(f"{server.url}{path}", headers=auth()).status_code == 404


def test_correlation_id_is_echoed(server: Server) -> None:
    response = httpx.get(f"{server.url}/health", headers={"X-Correlation-ID": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"


def test_example_cases_were_preloaded(server: Server) -> None:
    examples = sorted(p.name for p in (ROOT / "examples" / "cases").iterdir() if p.suffix in (".ttl", ".jsonld"))
    for stem in examples[:3]:
        assert httpx.get(f"{server.url}/cases/example-{stem}", headers=auth()).status_code == 200, stem


