"""The SPARQL worker pool when the network sandbox is not available, and the worker's own checks."""

from __future__ import annotations

import threading
from multiprocessing import Pipe
from multiprocessing.connection import Connection

import pytest

from kb.store import sparql_worker
from kb.store.base import EndpointUnavailableError, SparqlLimits, SparqlRequest
from kb.store.read_pool import ReadPool
from kb.store.sandbox import SandboxError

LIMITS = SparqlLimits(timeout=5, row_cap=10, max_response_bytes=10_000, max_nesting=16, max_dataset_graphs=4)


class _NoSnapshots:
    """Snapshot leases for a pool whose workers never get as far as opening one."""

    def written(self) -> int:
        return 0

    def acquire(self, generation: int, deadline: float) -> tuple[str, int]:
        return "", 0

    def release(self, path: str) -> None:
        pass


def _serve_without_sandbox(conn: Connection, require_sandbox: bool, max_rss_bytes: int, max_opens: int) -> None:
    """The worker on a host where entering a network namespace fails (runs in a spawned process)."""

    def refuse() -> str:
        raise SandboxError("cannot enter an empty network namespace (simulated)")

    sparql_worker.enter_network_sandbox = refuse
    sparql_worker.serve(conn, require_sandbox, max_rss_bytes, max_opens)


def test_without_a_sandbox_the_endpoint_is_disabled_with_a_clear_error() -> None:
    pool = ReadPool(1, 0, True, _NoSnapshots(), target=_serve_without_sandbox)
    try:
        assert pool.unavailable is not None and "IPKG_SPARQL_ALLOW_UNSANDBOXED" in pool.unavailable
        with pytest.raises(EndpointUnavailableError, match="network namespace"):
            pool.run(SparqlRequest("ASK {}", "json", "turtle"), LIMITS)
    finally:
        pool.close()


def test_the_explicit_setting_runs_workers_without_the_sandbox(tmp_path: object) -> None:
    pool = ReadPool(1, 0, False, _NoSnapshots(), target=_serve_without_sandbox)
    try:
        assert pool.unavailable is None
        assert pool.isolation.startswith("NOT isolated")
    finally:
        pool.close()


def test_the_worker_refuses_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """serve() in a thread: the fatal message when the sandbox is required and missing."""
    monkeypatch.setattr(sparql_worker, "enter_network_sandbox", lambda: (_ for _ in ()).throw(SandboxError("no")))
    parent, child = Pipe()
    thread = threading.Thread(target=sparql_worker.serve, args=(child, True))
    thread.start()
    thread.join(10)
    assert parent.recv() == ("fatal", "no")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("error at 1:20: expected one of \",\", \".\", [\'0\' ..= \'9\'], [_]", "SPARQL syntax error at line 1, column 20"),
        ("error at 2:3: expected CONSTRUCT", "SPARQL syntax error at line 2, column 3: expected CONSTRUCT"),
    ],
)
def test_syntax_errors_are_short(message: str, expected: str) -> None:
    assert sparql_worker.clean_syntax_error(message) == expected
