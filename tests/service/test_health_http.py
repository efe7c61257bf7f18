"""/health answers, with its store check, while a long SPARQL query runs."""

from __future__ import annotations

import threading
import time

import httpx

from tests.service.server import READ_TOKEN, Server, auth

# Runs until the query time limit stops it: a three-way product of every triple of the store.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def test_health_and_its_store_check_answer_while_a_long_query_runs(server: Server) -> None:
    assert httpx.get(f"{server.url}/health").json()["storeStatus"] == "ok"
    started = threading.Event()
    answers: list[int] = []

    def slow() -> None:
        started.set()
        response = httpx.post(f"{server.url}/sparql", content=SLOW_QUERY, timeout=120,
                              headers={**auth(READ_TOKEN), "content-type": "application/sparql-query"})
        answers.append(response.status_code)

    runner = threading.Thread(target=slow)
    runner.start()
    started.wait()
    try:
        time.sleep(1)  # the query has reached a SPARQL worker
        for _ in range(5):
            started = time.monotonic()
            body = httpx.get(f"{server.url}/health", timeout=30).json()
            assert time.monotonic() - started < 2
            assert body["status"] == "ok"
            # The store check is read by a store reader, not queued behind the query (or the writer).
            assert body["storeStatus"] in ("ok", "busy")
        statuses = []
        for _ in range(20):  # the store check completes while the query still runs
            statuses.append(httpx.get(f"{server.url}/health", timeout=30).json()["storeStatus"])
            if statuses[-1] == "ok":
                break
            time.sleep(0.1)
        assert statuses[-1] == "ok", statuses
        assert runner.is_alive(), "/health answered only after the long query ended"
    finally:
        runner.join(120)
    assert answers == [503]
    assert httpx.get(f"{server.url}/health").json()["storeStatus"] in ("ok", "busy")
