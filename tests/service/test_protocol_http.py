"""Protocol hygiene over real HTTP: redirects, HEAD, long paths, no query strings in the logs."""

from __future__ import annotations

import re

import httpx
import pytest

from api.protocol import MAX_PATH_BYTES, relative_location
from tests.service.server import READ_TOKEN, Server, auth


def test_a_redirect_does_not_reflect_the_host_header(server: Server) -> None:
    response = httpx.get(f"{server.url}/guidelines/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.is_redirect
    assert response.headers["location"] == "/guidelines"


@pytest.mark.parametrize(
    ("location", "relative"),
    [
        ("http://evil.example/guidelines", "/guidelines"),
        ("http://evil.example//evil.example/x?a=1", "/evil.example/x?a=1"),
        ("/docs", "/docs"),
    ],
)
def test_a_redirect_target_is_a_path_never_a_host(location: str, relative: str) -> None:
    assert relative_location(location) == relative


QUERIES = {"/sparql": "?query=ASK%20%7B%7D", "/procedures": "?cpt=64483"}


def _get_paths(server: Server) -> list[str]:
    """Every GET operation of the OpenAPI document, with a real id where the path has one."""
    ids = {
        "{guideline_id}": "NIA_CG_300",
        "{criterion_id}": "CG300-ACU-DUR",
        "{case_id}": "example-cg300-acute-approved.ttl",
        "{questionnaire_id}": "nia-cg-300-cg300-pw-acute",
    }
    listed = httpx.get(f"{server.url}/determinations?limit=1", headers=auth(READ_TOKEN)).json()
    ids["{determination_id}"] = listed["items"][0]["id"]
    pended = httpx.get(f"{server.url}/determinations?outcome=pended&limit=1", headers=auth(READ_TOKEN)).json()
    paths = []
    for template, operations in httpx.get(f"{server.url}/openapi.json").json()["paths"].items():
        if "get" not in operations:
            continue
        path = template
        if template.endswith("/questionnaire"):  # only a pend for missing documentation has one
            path = path.replace("{determination_id}", pended["items"][0]["id"])
        for name, value in ids.items():
            path = path.replace(name, value)
        assert "{" not in path, f"no example id for {template}"
        paths.append(path + QUERIES.get(template, ""))
    return [*paths, "/openapi.json", "/docs"]


# Routes whose body is live state: /health says "busy" instead of "ok" when the store's check takes
# longer than its wait (a loaded machine), so two requests in a row may differ in length.
LIVE_STATE = {"/health"}


def test_head_answers_like_get_on_every_get_route(server: Server) -> None:
    for path in _get_paths(server):
        for _ in range(5 if path in LIVE_STATE else 1):
            got = httpx.get(f"{server.url}{path}", headers=auth(READ_TOKEN))
            head = httpx.head(f"{server.url}{path}", headers=auth(READ_TOKEN))
            if head.headers.get("content-length") == got.headers.get("content-length"):
                break
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == got.headers["content-length"], path


def test_head_on_a_post_only_route_is_405_with_allow(server: Server) -> None:
    response = httpx.head(f"{server.url}/cases", headers=auth(READ_TOKEN))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "HEAD" in httpx.post(f"{server.url}/health").headers["allow"]


def test_a_404_does_not_echo_a_long_id(server: Server) -> None:
    long_id = "a" * 1500
    for path in (f"/determinations/{long_id}", f"/cases/{long_id}", f"/determinations/{long_id}/report", f"/criteria/{long_id}"):
        response = httpx.get(f"{server.url}{path}", headers=auth(READ_TOKEN))
        assert response.status_code == 404, path
        assert long_id not in response.text
        assert len(response.content) < 400, path


def test_an_over_long_path_is_414(server: Server) -> None:
    response = httpx.get(f"{server.url}/determinations/{'a' * (MAX_PATH_BYTES + 1)}", headers=auth(READ_TOKEN))
    assert response.status_code == 414
    assert response.headers["content-type"] == "application/problem+json"
    assert "aaaa" not in response.text


def test_no_query_string_reaches_the_access_log_or_the_audit_log(server: Server) -> None:
    marker = "PHIMARKER7731"
    httpx.get(f"{server.url}/determinations", params={"procedure": marker}, headers=auth(READ_TOKEN))
    httpx.get(f"{server.url}/health", params={"patient": marker})
    log = (server.directory / "server.log").read_text(encoding="utf-8", errors="replace")
    assert re.search(r'"GET /determinations HTTP/1.1" \d{3}', log), "the access log records requests"
    assert marker not in log
    assert marker not in server.audit_log.read_text(encoding="utf-8")
