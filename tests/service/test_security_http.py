"""Bearer tokens and scopes on every case, determination and SPARQL endpoint; audit records; body limit."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.service.server import READ_TOKEN, ROOT, WRITE_TOKEN, Server, auth, running

EXAMPLE = ROOT / "examples" / "cases" / "cg300-acute-approved.ttl"
TURTLE = {"content-type": "text/turtle"}
QUERY = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"

READ_ENDPOINTS = [
    ("GET", "/cases/nope", {}),
    ("GET", "/determinations", {}),
    ("GET", "/determinations/nope", {}),
    ("GET", "/determinations/nope/report", {}),
    ("GET", "/sparql?query=ASK%20%7B%7D", {}),
    ("POST", "/sparql", {"content": QUERY, "headers": {"content-type": "application/sparql-query"}}),
]
WRITE_ENDPOINTS = [
    ("POST", "/cases", {"content": EXAMPLE.read_bytes(), "headers": TURTLE}),
    ("POST", "/determinations", {"content": EXAMPLE.read_bytes(), "headers": TURTLE}),
]


def _call(server: Server, method: str, path: str, options: dict[str, object], token: str | None) -> httpx.Response:
    headers = dict(options.get("headers", {}))  # type: ignore[call-overload]
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.request(method, f"{server.url}{path}", content=options.get("content"), headers=headers, timeout=60)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path", "options"), READ_ENDPOINTS + WRITE_ENDPOINTS)
def test_no_token_or_a_wrong_token_is_401(server: Server, method: str, path: str, options: dict[str, object]) -> None:
    for token in (None, "not-a-token"):
        response = _call(server, method, path, options, token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "options"), WRITE_ENDPOINTS)
def test_read_scope_cannot_write(server: Server, method: str, path: str, options: dict[str, object]) -> None:
    assert _call(server, method, path, options, READ_TOKEN).status_code == 403
    assert _call(server, method, path, options, WRITE_TOKEN).status_code == 201


@pytest.mark.parametrize(("method", "path", "options"), READ_ENDPOINTS)
def test_read_scope_can_read(server: Server, method: str, path: str, options: dict[str, object]) -> None:
    assert _call(server, method, path, options, READ_TOKEN).status_code in (200, 404)


def _records(server: Server) -> list[dict[str, object]]:
    return [json.loads(line) for line in server.audit_log.read_text(encoding="utf-8").splitlines()]


def test_one_audit_record_per_request_denied_included_and_no_phi(server: Server) -> None:
    before = len(_records(server))
    sent = [
        httpx.post(f"{server.url}/determinations", content=EXAMPLE.read_bytes(), headers={**auth(), **TURTLE,
                   "X-Correlation-ID": "audit-ok"}),
        httpx.post(f"{server.url}/cases", content=EXAMPLE.read_bytes(), headers={**auth(READ_TOKEN), **TURTLE,
                   "X-Correlation-ID": "audit-forbidden"}),
        httpx.get(f"{server.url}/sparql", params={"query": 'SELECT * WHERE { ?s ?p "1975-03-02" }'},
                  headers={"X-Correlation-ID": "audit-anonymous"}),
    ]
    assert [r.status_code for r in sent] == [201, 403, 401]
    records = _records(server)[before:]
    by_id = {r["correlationId"]: r for r in records}
    assert len(records) == 3 and set(by_id) == {"audit-ok", "audit-forbidden", "audit-anonymous"}
    assert by_id["audit-ok"]["principal"] == "test-writer" and by_id["audit-ok"]["outcome"] == "allowed"
    assert by_id["audit-forbidden"]["outcome"] == "denied" and by_id["audit-forbidden"]["principal"] == "test-reader"
    assert by_id["audit-anonymous"]["outcome"] == "denied" and by_id["audit-anonymous"]["route"] == "/sparql"
    assert set(records[0]) == {"at", "correlationId", "principal", "method", "route", "status", "outcome"}
    text = server.audit_log.read_text(encoding="utf-8")
    for phi in ("1975-03-02", "acute-approved-patient", "painScore", WRITE_TOKEN, READ_TOKEN):
        assert phi not in text


@pytest.fixture(scope="module")
def small_body_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("small-body"), {"IPKG_MAX_BODY_BYTES": "2000"}) as srv:
        yield srv


def test_oversized_bodies_are_413_and_nothing_is_stored(small_body_server: Server) -> None:
    big = EXAMPLE.read_bytes() + b"#" * 3000
    for path in ("/cases", "/determinations"):
        response = httpx.post(f"{small_body_server.url}{path}", content=big, headers={**auth(), **TURTLE})
        assert response.status_code == 413
    chunked = httpx.post(f"{small_body_server.url}/cases", content=iter([big[:1500], big[1500:]]),
                         headers={**auth(), **TURTLE})
    assert chunked.status_code == 413
    sparql = httpx.post(f"{small_body_server.url}/sparql", content="#" * 3000 + "\nASK {}",
                        headers={**auth(), "content-type": "application/sparql-query"})
    assert sparql.status_code == 413
    listing = httpx.get(f"{small_body_server.url}/determinations", headers=auth()).json()
    assert listing["total"] == 0
