"""No request of any kind makes the service or its worker processes connect anywhere or open a file
outside the places it owns.

Every Python process of the service under test loads ``audit_hook/sitecustomize.py``, which records
each ``open`` and ``socket.connect`` (PEP 578 audit hooks) with its process id. A listener on loopback
stands for any host a hostile request names. The requests: SPARQL with SERVICE in its plain, SILENT
and escaped forms, JSON-LD cases whose contexts (at every nesting level, through ``@import`` and
scoped contexts) name the listener or local files, Turtle with a ``file:`` base, and ordinary work.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.listener import MARKER, Listener
from tests.service.server import READ_TOKEN, ROOT, Server, auth

HOOK_DIR = Path(__file__).resolve().parent / "audit_hook"
EXAMPLE = ROOT / "examples" / "cases" / "cg300-acute-approved.ttl"
TURTLE = {"content-type": "text/turtle"}
JSONLD = {"content-type": "application/ld+json"}
AF_UNIX = int(socket.AF_UNIX)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with Listener() as result:
        yield result


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    directory = tmp_path_factory.mktemp("audited")
    events = directory / "events.jsonl"
    python_path = os.pathsep.join(p for p in (str(HOOK_DIR), os.environ.get("PYTHONPATH", "")) if p)
    server = Server(directory, {"PYTHONPATH": python_path, "IPKG_TEST_AUDIT_EVENTS": str(events)}).start()
    try:
        yield server, events
    finally:
        server.stop()


def _hostile_requests(server: Server, listener: Listener, secret_file: Path) -> list[httpx.Response]:
    target = f"http://127.0.0.1:{listener.port}/x"
    queries = [
        f"ASK {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
        f'ASK {{ BIND("\\u0022" AS ?a) SERVICE <{target}> {{ ?s ?p ?o }} BIND("\\u0022" AS ?b) }}',
        f"SELECT * FROM <{target}> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    ]
    contexts: list[object] = [
        target,
        f"file://{secret_file}",
        [{"@context": target}],
        [{"@version": 1.1, "@import": target}],
        [{"@version": 1.1, "x": {"@id": "https://example.org/x", "@context": f"file://{secret_file}"}}],
        [{"@version": 1.1, "T": {"@id": "https://example.org/T", "@context": [{"@context": target}]}}],
    ]
    responses = []
    for query in queries:
        responses.append(httpx.get(f"{server.url}/sparql", params={"query": query}, headers=auth(READ_TOKEN), timeout=30))
        responses.append(
            httpx.post(
                f"{server.url}/sparql",
                content=query.encode(),
                headers={**auth(READ_TOKEN), "content-type": "application/sparql-query"},
                timeout=30,
            )
        )
    for context in contexts:
        body = json.dumps({"@context": context, "@id": "https://example.org/r", "@type": "ip:PriorAuthorizationRequest"})
        for path in ("/cases", "/determinations"):
            responses.append(httpx.post(f"{server.url}{path}", content=body.encode(), headers={**auth(), **JSONLD}, timeout=30))
    turtle = f"@base <file://{secret_file.parent}/> .\n".encode() + EXAMPLE.read_bytes()
    responses.append(httpx.post(f"{server.url}/determinations", content=turtle, headers={**auth(), **TURTLE}, timeout=60))
    responses.append(
        httpx.post(f"{server.url}/determinations", content=EXAMPLE.read_bytes(), headers={**auth(), **TURTLE}, timeout=60)
    )
    responses.append(httpx.get(f"{server.url}/determinations", headers=auth(READ_TOKEN), timeout=30))
    responses.append(httpx.get(f"{server.url}/guidelines", headers=auth(READ_TOKEN), timeout=30))
    return responses


def _allowed_prefixes(server: Server) -> tuple[str, ...]:
    """Where the service may open files: its data directory, its own code and knowledge, the interpreter."""
    prefixes = {
        str(server.directory.resolve()),
        str(ROOT.resolve()),
        sys.prefix,
        sys.base_prefix,
        str(Path(sys.executable).resolve().parent.parent),
        "/dev/null",
        "/dev/urandom",
        "/proc/",  # process statistics (memory, children) of the service itself
        "/sys/fs/cgroup/",  # the CPU count a worker pool reads
        "/usr/share/zoneinfo/",
        "/etc/localtime",
        "/tmp/pymp-",  # multiprocessing's own temporary directories
    }
    return tuple(sorted(prefixes))


def test_no_request_reaches_outside(audited: tuple[Server, Path], listener: Listener, tmp_path: Path) -> None:
    server, events = audited
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({"@context": {"leak": "https://example.org/leak"}}), encoding="utf-8")
    started = time.time()
    responses = _hostile_requests(server, listener, secret_file)
    time.sleep(1)  # let worker processes finish writing their events

    assert listener.connections == 0
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), statuses
    assert not any(MARKER in r.text or "root:" in r.text for r in responses)

    records = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines() if line.strip()]
    during = [r for r in records if r["time"] >= started]
    connects = [r for r in during if r["event"] == "socket.connect" and r["family"] != AF_UNIX]
    assert connects == [], f"connections made while serving the requests: {connects}"
    allowed = _allowed_prefixes(server)
    outside = sorted(
        {r["path"] for r in during if r["event"] == "open" and not os.path.realpath(ROOT / r["path"]).startswith(allowed)}
    )
    assert outside == [], f"files opened outside the service's own places: {outside}"
    assert not any(str(secret_file) in r.get("path", "") for r in records)
