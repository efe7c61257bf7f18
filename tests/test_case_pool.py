"""The case worker processes (kb.case_pool): same answers as in-process, killed at the time limit,
replaced when they die, and their failures mapped to problem details (api.workers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from api.problems import ProblemError
from api.settings import Settings
from api.workers import CaseWorkers
from kb import resources
from kb.case_pool import CasePool, CaseTimeoutError, CaseWorkerCrashedError, CaseWorkersUnavailableError
from kb.casework import check_case, determine_sent, determine_stored
from kb.errors import CaseFormError, CaseSyntaxError, UnsupportedRequestError
from kb.knowledge import Knowledge
from kb.pipeline.caseio import CaseLimits
from kb.repository import PreparedDetermination, unwire, wire
from kb.store_layout import case_graph, derived_graph, determination_graph_name, report_graph

CASES = ["cg300-acute-approved.ttl", "cg300-stenosis-pended.ttl", "cg301-initial-approved.ttl", "cg300-stenosis-approved.jsonld"]
LIMITS = CaseLimits()
RECEIVED = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)  # when the request arrived
RECEIVED = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)  # when the request arrived
BLANK_NODE_ID = re.compile(r'"n[0-9a-f]{32}b[0-9]+"')
BLANK_NODE_IN_LITERAL = re.compile(r'(?<=")n[0-9a-f]{32}b[0-9]+(?=\\?")')


def _case(name: str) -> tuple[bytes, str]:
    path = resources.examples_dir() / "cases" / name
    return path.read_bytes(), "json-ld" if path.suffix == ".jsonld" else "turtle"


@pytest.fixture(scope="module")
def pool() -> Iterator[CasePool]:
    case_pool = CasePool(1, timeout=60)
    try:
        yield case_pool
    finally:
        case_pool.close()


def _wait_for_new_worker(pool: CasePool, old: list[int], timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = pool.pids()
        if pids and pids != old:
            return pids
        time.sleep(0.05)
    raise AssertionError("no replacement worker started")


def _graphs_without_ids(prepared: PreparedDetermination) -> dict[str, Graph]:
    """The prepared graphs by kind, with the determination's fresh ids and its timestamp left out."""
    stored = prepared.stored
    names = {
        "case": case_graph(stored.case_id),
        "derived": derived_graph(stored.id),
        "report": report_graph(stored.id),
        "determination": determination_graph_name(stored.id),
    }
    graphs: dict[str, Graph] = {}
    for kind, name in names.items():
        text = unwire(prepared.graphs.get(name, [])).serialize(format="nt")
        text = text.replace(stored.id, "DET").replace(stored.case_id, "CASE")
        text = BLANK_NODE_IN_LITERAL.sub("_:b", text)
        graph = Graph().parse(data=text, format="nt")
        for triple in list(graph.triples((None, None, None))):
            if str(triple[1]).endswith("#determinedAt"):
                graph.remove(triple)
        graphs[kind] = graph
    return graphs




def _machine(prepared: PreparedDetermination) -> Any:
    """The machine form without the fresh ids; blank-node labels (fresh in every parse) read as one label."""
    form = {k: v for k, v in prepared.stored.machine_form.items() if k not in {"id", "caseId", "determinedAt"}}
    text = json.dumps(form).replace(prepared.stored.id, "DET").replace(prepared.stored.case_id, "CASE")  # in links
    return json.loads(BLANK_NODE_ID.sub('"_:b"', text))


@pytest.mark.parametrize("name", CASES)
def test_a_worker_decides_as_the_engine_does_in_process(pool: CasePool, knowledge: Knowledge, name: str) -> None:
    body, fmt = _case(name)
    in_worker = pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED))
    in_process = determine_sent(body, fmt, LIMITS, RECEIVED, knowledge)
    assert isinstance(in_worker, PreparedDetermination)
    assert _machine(in_worker) == _machine(in_process)
    assert in_worker.stored.machine_form["outcome"] == in_process.stored.machine_form["outcome"]
    worker_graphs, process_graphs = _graphs_without_ids(in_worker), _graphs_without_ids(in_process)
    for kind, graph in process_graphs.items():
        assert isomorphic(worker_graphs[kind], graph), (name, kind)


def test_stored_cases_and_form_checks_give_the_same_answers(pool: CasePool, knowledge: Knowledge) -> None:
    body, fmt = _case(CASES[0])
    checked = pool.call("check", (body, fmt, LIMITS))
    expected = check_case(body, fmt, LIMITS, knowledge)
    assert (checked.request, checked.guideline) == (expected.request, expected.guideline)
    assert isomorphic(unwire(checked.triples), unwire(expected.triples))
    triples = wire(Graph().parse(data=body, format=fmt))
    in_worker = pool.call("determine_stored", (triples, "stored-1", RECEIVED))
    in_process = determine_stored(triples, "stored-1", RECEIVED, knowledge)
    assert in_worker.stored.case_id == "stored-1"
    assert case_graph("stored-1") not in in_worker.graphs  # the stored case is not written again
    assert _machine(in_worker) == _machine(in_process)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"@prefix ip: <https://w3id.org/ipkg/ontology#> .\n<a> <b> ", CaseSyntaxError),
        (_case(CASES[0])[0].replace(b"ip:painScore 7", b"ip:painScore 11"), CaseFormError),
        (
            _case(CASES[0])[0].replace(b'ip:dateOfService "2024-', b'ip:dateOfService "2019-'),
            (CaseFormError, UnsupportedRequestError),
        ),
    ],
)
def test_refusals_cross_the_process_boundary_unchanged(
    pool: CasePool, knowledge: Knowledge, body: bytes, error: type[Exception] | tuple[type[Exception], ...]
) -> None:
    with pytest.raises(error) as in_process:
        determine_sent(body, "turtle", LIMITS, RECEIVED, knowledge)
    with pytest.raises(error) as in_worker:
        pool.call("determine_sent", (body, "turtle", LIMITS, RECEIVED))
    assert type(in_worker.value) is type(in_process.value)
    assert str(in_worker.value) == str(in_process.value)
    assert vars(in_worker.value) == vars(in_process.value)


def test_a_case_over_the_time_limit_kills_its_worker_which_is_replaced(pool: CasePool) -> None:
    body, fmt = _case(CASES[0])
    pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED))  # the worker is up
    before = pool.pids()
    pool.timeout = 0.01  # far below one determination (about 100 ms)
    try:
        with pytest.raises(CaseTimeoutError):
            pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED))
    finally:
        pool.timeout = 60
    after = _wait_for_new_worker(pool, before)
    assert not set(before) & set(after)
    with pytest.raises(ProcessLookupError):
        os.kill(before[0], 0)  # killed and reaped
    assert pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED)).stored.machine_form["outcome"] == "approved"


def test_a_worker_that_dies_holding_a_case_is_replaced_and_the_case_answered(pool: CasePool) -> None:
    body, fmt = _case(CASES[0])
    pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED))
    (victim,) = pool.pids()
    os.kill(victim, signal.SIGSTOP)  # it takes the case but cannot start on it ...
    result: dict[str, Any] = {}
    caller = threading.Thread(target=lambda: result.update(answer=pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED))))
    caller.start()
    time.sleep(0.3)
    os.kill(victim, signal.SIGKILL)  # ... and dies holding it
    caller.join(120)
    assert result["answer"].stored.machine_form["outcome"] == "approved"
    assert victim not in pool.pids()


def test_a_worker_killed_while_idle_is_replaced_before_the_next_case(pool: CasePool) -> None:
    body, fmt = _case(CASES[0])
    pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED))
    (victim,) = pool.pids()
    assert Path(f"/proc/{victim}/comm").read_text().strip() == "ipkg-case"  # named for ps and the load test
    os.kill(victim, signal.SIGKILL)
    assert pool.call("determine_sent", (body, fmt, LIMITS, RECEIVED)).stored.machine_form["outcome"] == "approved"
    assert victim not in pool.pids()


class _FailingPool:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def call(self, name: str, args: tuple[Any, ...]) -> Any:
        raise self.error

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("error", "status", "title", "retry"),
    [
        (CaseTimeoutError("the case ran past the 30 s limit and was stopped"), 503, "Case time limit exceeded", True),
        (CaseWorkersUnavailableError("no case worker became free in time"), 503, "Service busy", True),
        (CaseWorkerCrashedError("the case worker stopped while processing this case, 2 times"), 422,
         "Case could not be processed", False),
    ],
)
def test_pool_failures_are_problem_details(error: Exception, status: int, title: str, retry: bool) -> None:
    workers = CaseWorkers(1, 0, _FailingPool(error))  # type: ignore[arg-type]
    with pytest.raises(ProblemError) as info:
        workers.process("determine_sent", b"", "turtle", LIMITS, RECEIVED)
    assert (info.value.status, info.value.title) == (status, title)
    assert str(error) in info.value.detail
    assert (info.value.headers == {"Retry-After": "2"}) is retry
    workers.shutdown()


def test_a_full_queue_is_503_with_retry_after_while_the_worker_holds_a_case() -> None:
    body, fmt = _case(CASES[0])
    workers = CaseWorkers.from_settings(Settings(case_workers=1, case_queue=0))
    (busy,) = _wait_for_new_worker(workers.pool, [])
    os.kill(busy, signal.SIGSTOP)  # the worker holds the first case until it is let go

    async def scenario() -> None:
        first = asyncio.ensure_future(workers.run(workers.process, "determine_sent", body, fmt, LIMITS, RECEIVED))
        await asyncio.sleep(0.2)
        assert workers.admitted == 1
        with pytest.raises(ProblemError) as info:
            await workers.run(workers.process, "determine_sent", body, fmt, LIMITS, RECEIVED)
        assert info.value.status == 503 and info.value.headers == {"Retry-After": "2"}
        os.kill(busy, signal.SIGCONT)
        answer = await first
        assert answer.stored.machine_form["outcome"] == "approved"
        assert workers.admitted == 0

    try:
        asyncio.run(scenario())
    finally:
        os.kill(busy, signal.SIGCONT)
        workers.shutdown()


def test_the_service_answers_a_case_over_its_limit_with_503_and_stores_nothing(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.deps import get_settings
    from api.main import app
    from api.settings import TokenGrant

    settings = Settings(
        store_path=tmp_path / "store",
        audit_log=tmp_path / "audit.log",
        tokens={"pool-token": TokenGrant(name="pool", scopes=["read", "write"])},
        case_workers=1,
        case_timeout_seconds=0.01,
    )
    headers = {"Authorization": "Bearer pool-token", "Content-Type": "text/turtle"}
    body, _ = _case(CASES[0])
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        with TestClient(app) as client:
            response = client.post("/determinations", content=body, headers=headers)
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "2"
            assert response.json()["title"] == "Case time limit exceeded"
            listing = client.get("/determinations", headers=headers).json()
            assert listing["total"] == 0
            ask = client.get("/sparql", params={"query": "ASK { GRAPH ?g { ?s ?p ?o } FILTER(CONTAINS(STR(?g), '/case/')) }"},
                             headers=headers)
            assert ask.status_code == 200 and ask.json()["boolean"] is False

            # With a workable limit, a worker killed before the next case does not cost that case.
            pool = client.app.state.case_workers.pool  # type: ignore[attr-defined]
            pool.timeout = 60
            (victim,) = _wait_for_new_worker(pool, [])  # the replacement of the worker killed above
            os.kill(victim, signal.SIGKILL)
            response = client.post("/determinations", content=body, headers=headers)
            assert response.status_code == 201, response.text
            assert response.json()["outcome"] == "approved"
            assert victim not in pool.pids()
    finally:
        app.dependency_overrides.clear()
