"""/health answers while the store is busy with a long query, and says so."""

from __future__ import annotations

import threading

import httpx

from tests.service.server import READ_TOKEN, Server, auth

# Runs until the query time limit stops it: a three-way product of every triple of the store.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def test_health_answers_while_a_long_query_holds_the_store(server: Server) -> None:
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
        body = {}
        for _ in range(50):  # until the query has reached the store
            body = httpx.get(f"{server.url}/health", timeout=30).json()
            if body["storeStatus"] == "busy":
                break
        assert body["status"] == "ok"
        assert body["storeStatus"] == "busy"
        assert runner.is_alive(), "/health answered before the long query ended"
    finally:
        runner.join(120)
    assert answers == [503]
    assert httpx.get(f"{server.url}/health").json()["storeStatus"] in ("ok", "busy")
