"""Concurrent writes, restart persistence, and SIGKILL during writes: acknowledged means stored."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.service.server import ROOT, Server, auth

EXAMPLES = sorted((ROOT / "examples" / "cases").glob("cg300-*.ttl"))
TURTLE = {"content-type": "text/turtle"}


def _determine(client: httpx.Client, index: int) -> str:
    body = EXAMPLES[index % len(EXAMPLES)].read_bytes()
    response = client.post("/determinations", content=body, headers={**auth(), **TURTLE})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _complete(server: Server, det_id: str) -> bool:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        det = client.get(f"/determinations/{det_id}", headers=auth())
        if det.status_code != 200:
            return False
        report = client.get(f"/determinations/{det_id}/report", headers=auth())
        case = client.get(f"/cases/{det.json()['caseId']}", headers=auth())
        return report.status_code == 200 and case.status_code == 200 and "ValidationReport" in report.text


def _graph_names(server: Server, kind: str) -> set[str]:
    prefix = f"https://w3id.org/ipkg/graph/{kind}/"
    query = f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER STRSTARTS(STR(?g), "{prefix}") }}'
    body = httpx.get(f"{server.url}/sparql", params={"query": query}, headers=auth(), timeout=60).json()
    return {b["g"]["value"].rsplit("/", 1)[1] for b in body["results"]["bindings"]}


def _no_partial_determination(server: Server) -> None:
    determinations = _graph_names(server, "determination")
    assert determinations == _graph_names(server, "report") == _graph_names(server, "derived")


def test_200_determinations_from_8_clients_then_restart(tmp_path: Path) -> None:
    server = Server(tmp_path).start()
    try:
        def work(worker: int) -> list[str]:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                return [_determine(client, worker * 25 + i) for i in range(25)]

        with ThreadPoolExecutor(8) as pool:
            ids = [det_id for batch in pool.map(work, range(8)) for det_id in batch]
        assert len(ids) == 200 and len(set(ids)) == 200
        listing = httpx.get(f"{server.url}/determinations", params={"limit": 1}, headers=auth()).json()
        assert listing["total"] == 200
        _no_partial_determination(server)
    finally:
        server.stop()
    restarted = Server(tmp_path).start()
    try:
        assert httpx.get(f"{restarted.url}/determinations", params={"limit": 1}, headers=auth()).json()["total"] == 200
        assert all(_complete(restarted, det_id) for det_id in ids[::20])
    finally:
        restarted.stop()


def test_sigkill_during_concurrent_writes_keeps_every_acknowledged_determination(tmp_path: Path) -> None:
    server = Server(tmp_path).start()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            index = worker
            while not stop.is_set():
                try:
                    det_id = _determine(client, index)
                except (httpx.HTTPError, AssertionError):
                    return
                with lock:
                    acknowledged.append(det_id)
                index += 8

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with lock:
            if len(acknowledged) >= 30:
                break
        time.sleep(0.05)
    server.kill()  # SIGKILL, while the writers are still sending
    stop.set()
    for thread in threads:
        thread.join(60)
    with lock:
        acked = list(acknowledged)
    assert len(acked) >= 30

    restarted = Server(tmp_path).start()
    try:
        missing = [det_id for det_id in acked if not _complete(restarted, det_id)]
        assert missing == []
        _no_partial_determination(restarted)
        stored = _graph_names(restarted, "determination")
        assert set(acked) <= stored
    finally:
        restarted.stop()
