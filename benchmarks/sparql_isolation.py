"""How well the SPARQL endpoint isolates heavy queries: a measurement against a real service.

Usage: .venv/bin/python benchmarks/sparql_isolation.py [--timeout 10] [--json]

Starts the service (uvicorn, embedded store in a temporary directory) and reports:
- /health and a small query, median latency at rest;
- one runaway query: how long until it is answered (503 at the time limit) and /health latency
  (median, max) while it runs;
- three runaway queries at once: /health latency while they run, and what each one got;
- a query that doubles a string 27 times (134 MB): status, time, and the resident memory of the
  service process before and after.
Absolute figures depend on the machine; the point is /health staying in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "benchmark-read-token"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?v{i} {{ 1 2 3 4 5 6 7 8 9 10 11 12 }}" for i in range(9)
) + " }"
DOUBLING = 'SELECT ?x27 WHERE { BIND("x" AS ?x0) ' + " ".join(
    f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(27)
) + " }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _timed(call: Any) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def measure(timeout: float) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="ipkg-sparql-bench-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, IPKG_STORE_PATH=str(directory / "store"), IPKG_AUDIT_LOG=str(directory / "audit.log"),
               IPKG_TOKENS=json.dumps({TOKEN: {"name": "benchmark", "scopes": ["read"]}}),
               IPKG_QUERY_TIMEOUT_SECONDS=str(timeout))
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    monitor = httpx.Client(timeout=60)  # one kept-alive connection: the latency measured is the service's

    def health() -> httpx.Response:
        return monitor.get(f"{url}/health")

    def query(text: str) -> httpx.Response:
        with httpx.Client(timeout=120) as client:
            return client.post(f"{url}/sparql", content=text.encode(),
                               headers={**headers, "content-type": "application/sparql-query"})

    def health_while(threads: list[threading.Thread]) -> list[float]:
        times = []
        while any(t.is_alive() for t in threads):
            times.append(_timed(health)[0])
            time.sleep(0.05)
        return times

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if health().status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        query("ASK {}")
        rest_health = [_timed(health)[0] for _ in range(20)]
        rest_query = [_timed(lambda: monitor.post(f"{url}/sparql", content=b"ASK { ?s ?p ?o }", headers={
            **headers, "content-type": "application/sparql-query"}))[0] for _ in range(20)]

        single: dict[str, Any] = {}

        def one() -> None:
            single["elapsed"], response = _timed(lambda: query(RUNAWAY))
            single["status"] = response.status_code

        thread = threading.Thread(target=one)
        thread.start()
        during_one = health_while([thread])
        time.sleep(2 * timeout)  # the pool replaces the killed worker

        statuses: list[int] = []
        threads = [threading.Thread(target=lambda: statuses.append(query(RUNAWAY).status_code)) for _ in range(3)]
        for t in threads:
            t.start()
        during_three = health_while(threads)
        time.sleep(2 * timeout)

        before = _rss_mib(server.pid)
        doubling_time, doubling = _timed(lambda: query(DOUBLING))
        after = _rss_mib(server.pid)
        return {
            "time_limit_s": timeout,
            "health_at_rest_median_ms": round(statistics.median(rest_health) * 1000, 1),
            "small_query_at_rest_median_ms": round(statistics.median(rest_query) * 1000, 1),
            "runaway_answered_after_s": round(single["elapsed"], 2),
            "runaway_status": single["status"],
            "health_during_runaway_median_ms": round(statistics.median(during_one) * 1000, 1),
            "health_during_runaway_max_ms": round(max(during_one) * 1000, 1),
            "three_runaways_statuses": sorted(statuses),
            "health_during_three_runaways_max_ms": round(max(during_three) * 1000, 1),
            "doubling_27_status": doubling.status_code,
            "doubling_27_seconds": round(doubling_time, 2),
            "service_rss_before_mib": round(before, 1),
            "service_rss_after_mib": round(after, 1),
        }
    finally:
        monitor.close()
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timeout", type=float, default=10.0, help="the query time limit of the service (s)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    figures = measure(args.timeout)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:40} {value}")


if __name__ == "__main__":
    main()
