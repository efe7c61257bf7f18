"""Every cookbook question, asked of the running service, gives its expected answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kb.cookbook import answer_key, expected_file, queries
from tests.service.server import PRELOADED, READ_TOKEN, ROOT, Server, auth, running

QUERIES = queries()


@pytest.fixture(scope="module")
def examples_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A service holding exactly the example cases, so case-base answers are known."""
    with running(tmp_path_factory.mktemp("cookbook"), PRELOADED, timeout=300) as srv:
        yield srv


def test_there_are_at_least_twelve_questions() -> None:
    assert len(QUERIES) >= 12
    assert all(q.read_text(encoding="utf-8").startswith("# ") for q in QUERIES)


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem[:40] for q in QUERIES])
def test_cookbook_answer(query: Path, examples_server: Server) -> None:
    expected = json.loads(expected_file(query).read_text(encoding="utf-8"))
    response = httpx.post(f"{examples_server.url}/sparql", content=query.read_text(encoding="utf-8"),
                          headers={**auth(READ_TOKEN), "content-type": "application/sparql-query",
                                   "accept": "application/sparql-results+json"}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    if "boolean" in expected:
        assert body["boolean"] == expected["boolean"]
        return
    columns = body["head"]["vars"]
    rows = [[b.get(v, {}).get("value", "") for v in columns] for b in body["results"]["bindings"]]
    assert answer_key(columns, rows) == answer_key(expected["columns"], expected["rows"])
    assert expected["rows"], "a competency question should have an answer on the example cases"


def test_cookbook_queries_appear_in_the_docs() -> None:
    doc = (ROOT / "docs" / "sparql-cookbook.md").read_text(encoding="utf-8")
    for query in QUERIES:
        assert f"cookbook/{query.name}" in doc, f"docs/sparql-cookbook.md does not present {query.name}"
        body = "\n".join(query.read_text(encoding="utf-8").splitlines()[1:])
        assert body in doc, f"docs/sparql-cookbook.md shows another text than {query.name}"
