"""The network sandbox itself: Oxigraph in a sandboxed process cannot connect anywhere.

Each means is tested alone (an empty network namespace; a seccomp filter that forbids sockets) and
both together, as the workers apply them.

This does not go through the endpoint's early SERVICE check: the query is handed to Oxigraph
directly, so only the empty network namespace stands between it and the listener. The same query
in a process without the sandbox does connect, which shows the listener would see an attempt.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from kb.store.sandbox import enter_network_namespace, enter_network_sandbox, install_socket_filter
from tests.service.listener import MARKER, Listener

SANDBOXES: dict[str, Callable[[], str]] = {
    "namespace and filter": enter_network_sandbox,
    "network namespace only": enter_network_namespace,
    "seccomp filter only": install_socket_filter,
}


def _in_child(port: int, sandbox: Callable[[], str] | None) -> list[str]:
    """Run SERVICE queries in a forked child; return what each one gave."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        outcomes = []
        try:
            if sandbox is not None:
                sandbox()
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


@pytest.mark.parametrize("name", SANDBOXES)
def test_a_sandboxed_process_reaches_no_listener(name: str) -> None:
    with Listener() as listener:
        outcomes = _in_child(listener.port, SANDBOXES[name])
        time.sleep(0.3)
        assert listener.connections == 0, outcomes
    assert not any(o.startswith("sandbox:") for o in outcomes), outcomes
    assert all(MARKER not in o for o in outcomes)
    assert outcomes[0].split(":")[0] in ("OSError", "PermissionError"), outcomes  # the SERVICE call failed


def test_without_the_sandbox_oxigraph_would_connect() -> None:
    """The control: the listener does see Oxigraph's SERVICE call from an ordinary process."""
    with Listener() as listener:
        _in_child(listener.port, None)
        time.sleep(0.3)
        assert listener.connections >= 1
