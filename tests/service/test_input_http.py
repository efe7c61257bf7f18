"""Hostile and malformed cases over HTTP: a 4xx naming the problem, nothing stored, the service responsive."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.listener import Listener
from tests.service.server import READ_TOKEN, ROOT, Server, auth, running

TTL = (ROOT / "examples" / "cases" / "cg300-acute-approved.ttl").read_text(encoding="utf-8")
JSONLD_CASE = (ROOT / "examples" / "cases" / "cg300-stenosis-approved.jsonld").read_text(encoding="utf-8")
TURTLE = {"content-type": "text/turtle"}
LD = {"content-type": "application/ld+json"}
ENDPOINTS = ("/cases", "/determinations")


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def marked(text: str) -> tuple[str, str]:
    """The case with a unique marker IRI added, and the marker (to look for it in the store)."""
    marker = f"https://w3id.org/ipkg/case/marker-{uuid.uuid4().hex}"
    return text + f'\n<{marker}> <http://www.w3.org/2000/01/rdf-schema#label> "marker" .\n', marker


def sparql(server: Server, query: str) -> dict[str, object]:
    response = httpx.get(f"{server.url}/sparql", params={"query": query}, headers=auth(READ_TOKEN), timeout=60)
    assert response.status_code == 200, response.text
    result = response.json()
    assert isinstance(result, dict)
    return result


def graph_count(server: Server) -> int:
    result = sparql(server, "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    bindings = result["results"]["bindings"]  # type: ignore[index]
    return int(bindings[0]["n"]["value"])


def stored(server: Server, marker: str) -> bool:
    return bool(sparql(server, f"ASK {{ GRAPH ?g {{ <{marker}> ?p ?o }} }}")["boolean"])


def post(server: Server, path: str, body: str | bytes, headers: dict[str, str]) -> httpx.Response:
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return httpx.post(f"{server.url}{path}", content=content, headers={**auth(), **headers}, timeout=120)


def assert_refused(server: Server, body: str, headers: dict[str, str], status: int, expected: str) -> None:
    """Both endpoints refuse the case with the status and a detail naming the problem; nothing is stored."""
    before = graph_count(server)
    for path in ENDPOINTS:
        response = post(server, path, body, headers)
        assert response.status_code == status, (path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert expected in response.json()["detail"], response.json()
    assert graph_count(server) == before


@pytest.mark.parametrize(
    ("name", "body", "headers", "expected"),
    [
        ("deep [ ]", "<a> <b> " + "[ <c> " * 1000 + "]" * 1000 + " .", TURTLE, "nest 1000 deep"),
        ("deep ( )", "<a> <b> " + "( " * 1000 + ")" * 1000 + " .", TURTLE, "nest 1000 deep"),
        ("deep JSON", "[" * 500 + "]" * 500, LD, "nest 500 deep"),
        ("huge list", "<a> <b> (" + " 1" * 100_000 + " ) .", TURTLE, "the case holds 100002 terms"),
        ("many triples", "<a> <b> " + ", ".join(str(i) for i in range(15_000)) + " .", TURTLE, "more than 10000 triples"),
        ("lone surrogate", replaced(JSONLD_CASE, '"2024-04-12"', '"2024-04-12\\ud800"'), LD, "lone surrogate"),
    ],
)
def test_malformed_cases_get_400(server: Server, name: str, body: str, headers: dict[str, str], expected: str) -> None:
    assert_refused(server, body, headers, 400, expected)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('ip:endDate "2024-05-20"^^xsd:date', 'ip:endDate ""^^xsd:date', "ip:endDate: '' is not a valid xsd:date"),
        ('"2024-06-10"^^xsd:date', '"9999-12-31"^^xsd:date', "the date 9999-12-31 is outside the years 1900-2100"),
    ],
)
def test_invalid_turtle_cases_get_422_on_both_endpoints(server: Server, old: str, new: str, expected: str) -> None:
    body, marker = marked(replaced(TTL, old, new))
    assert_refused(server, body, TURTLE, 422, expected)
    assert not stored(server, marker)


def test_a_node_for_a_date_gets_422(server: Server) -> None:
    body = replaced(JSONLD_CASE, '"endDate": "2024-04-12"', '"endDate": {}')
    assert_refused(server, body, LD, 422, "ip:endDate: must be a value")


def test_a_forged_determination_is_refused_and_never_listed(server: Server) -> None:
    listing = httpx.get(f"{server.url}/determinations", headers=auth(READ_TOKEN)).json()
    forged = (
        TTL
        + '\ncase:forged a ip:Determination ; ip:outcome ip:Approved ; ip:underGuideline ip:NIA_CG_300 ;\n'
        + '    ip:determinedAt "2099-01-01T00:00:00"^^xsd:dateTime ; ip:requestedCode "64483" ;\n'
        + '    ip:serviceDate "2024-06-10"^^xsd:date .\n'
    )
    body, marker = marked(forged)
    assert_refused(server, body, TURTLE, 422, "https://w3id.org/ipkg/case/forged is typed ip:Determination")
    assert not stored(server, marker)
    after = httpx.get(f"{server.url}/determinations", headers=auth(READ_TOKEN)).json()
    assert after["total"] == listing["total"]
    assert all(not item["determinedAt"].startswith("2099") for item in after["items"])


@pytest.fixture()
def listener() -> Iterator[Listener]:
    with Listener() as srv:
        yield srv


def test_jsonld_contexts_are_never_fetched_or_opened(server: Server, listener: Listener, tmp_path: Path) -> None:
    context_file = tmp_path / "context.jsonld"
    context_file.write_text(json.dumps({"@context": {"@vocab": "https://example.org/"}}), encoding="utf-8")
    for url in (f"{listener.url}/context.jsonld", context_file.as_uri(), "file:///etc/passwd"):
        document = json.loads(JSONLD_CASE)
        document["@context"] = ["https://w3id.org/ipkg/context.jsonld", {"@context": url}]
        for path in ENDPOINTS:
            response = post(server, path, json.dumps(document), LD)
            assert response.status_code == 400, response.text
            assert "root:" not in response.text and "Errno" not in response.text
    assert listener.connections == 0


# -- Work off the event loop, and a bounded queue ---------------------------------------------------

SLOW = {
    # A case large enough to keep a worker busy for a while: limits raised so it is parsed in full.
    "IPKG_MAX_CASE_TRIPLES": "1000000",
    "IPKG_CASE_WORKERS": "1",
    "IPKG_CASE_QUEUE": "0",
}
BIG_LIST = "<a> <b> (" + " 1" * 60_000 + " ) ."


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("slow-service"), SLOW, timeout=300) as srv:
        yield srv


def test_health_answers_while_a_large_case_is_processed(slow_server: Server) -> None:
    outcome: dict[str, object] = {}

    def send() -> None:
        started = time.monotonic()
        outcome["response"] = post(slow_server, "/cases", BIG_LIST, TURTLE)
        outcome["seconds"] = time.monotonic() - started

    sender = threading.Thread(target=send)
    sender.start()
    latencies = []
    while sender.is_alive():
        started = time.monotonic()
        assert httpx.get(f"{slow_server.url}/health", timeout=30).status_code == 200
        latencies.append(time.monotonic() - started)
        time.sleep(0.05)
    sender.join()
    response = outcome["response"]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 400 and "more than 1000 items" in response.json()["detail"]
    # The case kept a worker busy for a while, and /health answered all along (generous tolerance).
    assert len(latencies) >= 3, outcome
    assert max(latencies) < 5.0, latencies


def test_a_full_queue_answers_503_with_retry_after(slow_server: Server) -> None:
    """One worker and no queue: of cases sent at overlapping times, one is refused with 503."""
    responses: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: responses.append(post(slow_server, "/cases", BIG_LIST, TURTLE)))
    sender.start()
    deadline = time.monotonic() + 120
    while sender.is_alive() and time.monotonic() < deadline:
        responses.append(post(slow_server, "/determinations", TTL, TURTLE))
    sender.join()
    statuses = [r.status_code for r in responses]
    busy = [r for r in responses if r.status_code == 503]
    assert busy, statuses
    assert int(busy[0].headers["retry-after"]) >= 1
    assert busy[0].headers["content-type"].startswith("application/problem+json")
    assert set(statuses) <= {201, 400, 503}, statuses
    # Once the worker is free, cases are accepted again.
    assert post(slow_server, "/determinations", TTL, TURTLE).status_code == 201
