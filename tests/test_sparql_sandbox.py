"""The network sandbox itself: Oxigraph in a sandboxed process cannot connect anywhere.

This does not go through the endpoint's early SERVICE check: the query is handed to Oxigraph
directly, so only the empty network namespace stands between it and the listener. The same query
in a process without the sandbox does connect, which shows the listener would see an attempt.
"""

from __future__ import annotations

import json
import os
import time

import pyoxigraph as ox

from kb.store.sandbox import enter_network_sandbox
from tests.service.listener import MARKER, Listener


def _in_child(port: int, sandboxed: bool) -> list[str]:
    """Run SERVICE queries in a forked child; return what each one gave."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        outcomes = []
        try:
            if sandboxed:
                enter_network_sandbox()
            store = ox.Store()
            for query in (
                f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
                f"SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
                f'ASK {{ BIND("\\u0022" AS ?a) SERVICE <http://127.0.0.1:{port}/x> {{ ?s ?p ?o }} BIND("\\u0022" AS ?b) }}',
            ):
                try:
                    result = store.query(query)
                    outcomes.append(repr(bool(result) if isinstance(result, ox.QueryBoolean) else list(result)))
                except Exception as exc:
                    outcomes.append(f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            outcomes.append(f"sandbox: {exc}")
        os.write(write, json.dumps(outcomes).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return list(json.loads(data))


def test_a_sandboxed_process_reaches_no_listener() -> None:
    with Listener() as listener:
        outcomes = _in_child(listener.port, sandboxed=True)
        time.sleep(0.3)
        assert listener.connections == 0, outcomes
    assert not any(o.startswith("sandbox:") for o in outcomes), outcomes
    assert all(MARKER not in o for o in outcomes)
    assert "unreachable" in outcomes[0].lower()


def test_without_the_sandbox_oxigraph_would_connect() -> None:
    """The control: the listener does see Oxigraph's SERVICE call from an ordinary process."""
    with Listener() as listener:
        _in_child(listener.port, sandboxed=False)
        time.sleep(0.3)
        assert listener.connections >= 1
