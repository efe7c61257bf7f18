"""Locust clients of the service: determinations, reads, guideline knowledge, health and SPARQL.

Each simulated client waits 1 to 3 s between requests and picks, by weight: POST /determinations
with an example case whose nodes get fresh IRIs (so every request is a new case), the list and
single reads of determinations, the guidelines, /health, and a cookbook query on /sparql
(``ServiceClient``). ``ReadOnlyClient`` does the same without POST /determinations.
Run by ``scripts/load.sh`` (see docs/benchmark.md), which starts the service and reads the
summary this file writes when the run ends (``IPKG_LOAD_SUMMARY``). It needs ``IPKG_LOAD_TOKEN``,
a token with the read and write scopes.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, task

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "examples" / "cases").glob("*.ttl"))
CASE_PREFIX = "@prefix case: <https://w3id.org/ipkg/case/> ."
COOKBOOK = sorted((ROOT / "docs" / "cookbook").glob("*.rq"))
TOKEN = os.environ.get("IPKG_LOAD_TOKEN", "")

# Every request's (endpoint name, milliseconds, status, time it ended), for the summary written at the end.
SAMPLES: list[tuple[str, float, int, float]] = []
# How many 5xx answers each endpoint got, by status and problem title.
ERRORS: dict[str, int] = {}


def fresh_case() -> str:
    """An example case in Turtle whose case nodes live under a new IRI prefix."""
    path = random.choice(CASES)
    text = path.read_text(encoding="utf-8")
    prefix = f"@prefix case: <https://w3id.org/ipkg/case/load-{uuid.uuid4().hex}/> ."
    return text.replace(CASE_PREFIX, prefix)


class ReadOnlyClient(FastHttpUser):
    """A client that only reads: determinations, guidelines, /health, SPARQL (no new determinations)."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {TOKEN}"}
        self.ids: list[str] = []
        with self.client.get("/determinations?limit=50", headers=self.headers, name="GET /determinations",
                             catch_response=True) as response:
            if response.status_code == 200 and response.text:
                self.ids = [item["id"] for item in json.loads(response.text)["items"]]

    @task(2)
    def list_determinations(self) -> None:
        outcome = random.choice(["approved", "denied", "pended"])
        self.client.get(f"/determinations?outcome={outcome}&limit=20", headers=self.headers, name="GET /determinations")

    @task(3)
    def read_determination(self) -> None:
        if self.ids:
            det_id = random.choice(self.ids)
            self.client.get(f"/determinations/{det_id}", headers=self.headers, name="GET /determinations/{id}")

    @task(2)
    def guidelines(self) -> None:
        self.client.get("/guidelines", name="GET /guidelines")

    @task(1)
    def health(self) -> None:
        self.client.get("/health", name="GET /health")

    @task(2)
    def sparql(self) -> None:
        query = random.choice(COOKBOOK)
        headers = {**self.headers, "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"}
        self.client.post("/sparql", data=query.read_text(encoding="utf-8"), headers=headers, name="POST /sparql (cookbook)")


class ServiceClient(ReadOnlyClient):
    """The mixed client: the reads above plus new determinations."""

    @task(2)
    def determine(self) -> None:
        headers = {**self.headers, "Content-Type": "text/turtle"}
        with self.client.post("/determinations", data=fresh_case(), headers=headers, name="POST /determinations",
                              catch_response=True) as response:
            if response.status_code == 201 and response.text:
                self.ids.append(json.loads(response.text)["id"])
                response.success()
            elif response.status_code == 422:
                response.success()  # an example the engine refuses as a request is a correct answer
            else:
                response.failure(f"status {response.status_code}")


def _record(name: str, response_time: float, response: Any, exception: Any, **_: Any) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    SAMPLES.append((name, float(response_time), status, time.time()))
    if status >= 500 or status == 0:
        try:
            title = json.loads(response.text).get("title", "?")
        except (ValueError, AttributeError, TypeError):
            title = "no problem document"
        key = f"{name} {status} {title}"
        ERRORS[key] = ERRORS.get(key, 0) + 1


def _write_summary(**_: Any) -> None:
    target = os.environ.get("IPKG_LOAD_SUMMARY")
    if target:
        Path(target).write_text(json.dumps({"samples": SAMPLES, "errors": ERRORS}), encoding="utf-8")


events.request.add_listener(_record)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_summary)  # type: ignore[no-untyped-call]
