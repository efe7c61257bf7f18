"""In-process checks of the case endpoints' plumbing: the worker pool and the caseId body."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.problems import ProblemError
from api.workers import CaseWorkers

TOKEN = {"Authorization": "Bearer in-process-token"}


def test_a_full_pool_refuses_at_once_with_503_and_frees_its_places() -> None:
    release = threading.Event()
    started = threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "done"

    async def scenario() -> None:
        workers = CaseWorkers(workers=1, queue=1)
        first = asyncio.ensure_future(workers.run(slow))
        second = asyncio.ensure_future(workers.run(lambda: "queued"))
        await asyncio.sleep(0)
        assert await asyncio.to_thread(started.wait, 10)
        assert workers.admitted == 2
        with pytest.raises(ProblemError) as info:
            await workers.run(lambda: "refused")
        assert info.value.status == 503 and info.value.headers == {"Retry-After": "2"}
        release.set()
        assert await first == "done" and await second == "queued"
        assert workers.admitted == 0
        assert await workers.run(lambda: "again") == "again"
        workers.shutdown()

    asyncio.run(scenario())


def test_work_runs_off_the_event_loop_thread() -> None:
    async def scenario() -> None:
        workers = CaseWorkers(workers=1, queue=0)
        assert await workers.run(threading.get_ident) != threading.get_ident()
        workers.shutdown()

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from api.deps import get_settings
    from api.main import app
    from api.settings import Settings, TokenGrant

    directory: Path = tmp_path_factory.mktemp("endpoints")
    settings = Settings(
        store_path=directory / "store",
        audit_log=directory / "audit.log",
        tokens={"in-process-token": TokenGrant(name="in-process", scopes=["read", "write"])},
    )
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"[" * 1000 + b"]" * 1000, 400, "nests 1000 deep"),
        (b"[" * 100_000 + b"]" * 100_000, 413, "at most 4096 bytes"),
        (b'{"caseId": "x"' + b" " * 5000 + b"}", 413, "at most 4096 bytes"),
        (b'{"caseId": "\xff"}', 400, "not UTF-8"),
        (b'{"caseId": ', 400, "invalid JSON"),
    ],
)
def test_a_bad_case_reference_is_a_4xx(client: TestClient, body: bytes, status: int, expected: str) -> None:
    response = client.post("/determinations", content=body, headers={**TOKEN, "content-type": "application/json"})
    assert response.status_code == status, response.text
    assert expected in response.json()["detail"]


def test_a_refused_case_leaves_no_trace(client: TestClient) -> None:
    root = Path(__file__).resolve().parent.parent
    case = (root / "examples" / "cases" / "cg300-acute-approved.ttl").read_text(encoding="utf-8")
    marker = "https://w3id.org/ipkg/case/no-trace-marker"
    forged = case + f'\n<{marker}> a <https://w3id.org/ipkg/ontology#Determination> .\n'
    for path in ("/cases", "/determinations"):
        response = client.post(path, content=forged, headers={**TOKEN, "content-type": "text/turtle"})
        assert response.status_code == 422, response.text
    ask = client.get("/sparql", params={"query": f"ASK {{ GRAPH ?g {{ <{marker}> ?p ?o }} }}"}, headers=TOKEN)
    assert ask.status_code == 200 and ask.json()["boolean"] is False
    listing = client.get("/determinations", headers=TOKEN).json()
    assert listing["total"] == 0
