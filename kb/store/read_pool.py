"""A pool of killable processes that read store snapshots, with a bounded queue.

Two pools of this kind run: the SPARQL workers (``kb.store.sparql_worker``, client queries) and
the store readers (``kb.store.store_reader``, the service's own reads). Each request runs in one
worker, on a snapshot (``kb.store.snapshots``) chosen before a worker is taken. A request that
runs past its time limit costs that worker only: the pool kills it (SIGKILL, the only way to stop a
running Oxigraph query) and starts a replacement in the background (``kb.worker_processes``), while
the other workers and the rest of the service go on. At most ``size`` requests run and
``queue_length`` wait; any further one is refused at once (``EndpointBusyError``, 503 with
Retry-After). The wait for a snapshot and for a worker count against the request's time limit, so
no answer comes later than the limit (plus the kill). Callers block in a thread, never on an event
loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from kb.store.base import (
    EndpointBusyError,
    EndpointUnavailableError,
    NotAcceptableError,
    QueryRefusedError,
    QueryTimeoutError,
    ResultTooLargeError,
    RowCapExceededError,
    SparqlAnswer,
    SparqlLimits,
    SparqlRequest,
    StoreError,
)
from kb.store.snapshots import SnapshotTimeoutError
from kb.store.sparql_worker import serve
from kb.worker_processes import StartResult, Worker, WorkerProcesses

log = logging.getLogger("ipkg.sparql")
START_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RSS_BYTES = 512 * 1024 * 1024
LEAD_OPENS = 20  # a worker's successor starts this many snapshot opens before it leaves


class SnapshotLeases(Protocol):
    """Where the pool gets snapshots (``kb.store.snapshots.Snapshots``)."""

    def written(self) -> int: ...
    def acquire(self, generation: int, deadline: float) -> tuple[str, int]: ...
    def release(self, path: str) -> None: ...


class ReadPool:
    """``size`` worker processes that answer on snapshots; ``run`` answers one SPARQL request.

    ``exchange`` is the general form: it sends ``(snapshot, *payload)`` to a free worker and returns
    its reply. The same pool class runs the store readers (``kb.store.store_reader``) with another
    ``target``. A worker keeps the snapshot it last opened, which stays held (never deleted) until
    the worker is sent a newer one or leaves.
    """

    def __init__(
        self,
        size: int,
        queue_length: int,
        require_sandbox: bool,
        snapshots: SnapshotLeases,
        target: Callable[..., None] = serve,
        max_rss_bytes: int = DEFAULT_MAX_RSS_BYTES,
        max_opens: int = 0,
        role: str = "SPARQL worker",
    ) -> None:
        self.size = size
        self.role = role
        self.require_sandbox = require_sandbox
        self._snapshots = snapshots
        self._admission = threading.BoundedSemaphore(size + queue_length)
        self._opened: dict[Worker, str] = {}
        self._opens: dict[Worker, int] = {}  # snapshots each worker has opened
        self._succeeded: set[Worker] = set()  # workers near their planned leave whose successor started
        self._max_opens = max_opens
        self._opened_lock = threading.Lock()
        self.unavailable: str | None = None
        self.isolation = ""
        self._workers = WorkerProcesses(
            target, (require_sandbox, max_rss_bytes, max_opens), role.replace(" ", "-").lower(), START_TIMEOUT_SECONDS,
            on_started=self._started,
        )
        starting = [self._workers.launch() for _ in range(size)]
        for pending in starting:
            result = self._workers.await_ready(*pending)
            self._started(result)
            if result.worker is not None:
                self._workers.add(result.worker)
        if role != "SPARQL worker":
            return
        if self.unavailable is not None:
            log.error("SPARQL endpoint DISABLED: %s", self.unavailable)
        elif not self.isolation.startswith("isolated"):
            log.warning("SPARQL workers run WITHOUT network isolation (%s)", self.isolation)
        else:
            log.info("SPARQL workers %s", self.isolation)

    # -- workers -------------------------------------------------------------------------------

    def _started(self, result: StartResult) -> None:
        if result.worker is not None:
            self.isolation = result.detail
        elif result.status == "fatal":
            self.unavailable = (
                f"the SPARQL workers cannot start: {result.detail}; "
                "set IPKG_SPARQL_ALLOW_UNSANDBOXED=true to run them anyway"
            )
        elif not self._workers.closed:
            log.error("a %s failed to start: %s", self.role, result.detail)

    def _retire(self, worker: Worker, kill: bool) -> None:
        """Drop a dead, killed or leaving worker (its snapshot is no longer held) and start its replacement."""
        with self._opened_lock:
            opened = self._opened.pop(worker, "")
            self._opens.pop(worker, None)
            succeeded = worker in self._succeeded
            self._succeeded.discard(worker)
        if opened:
            self._snapshots.release(opened)
        self._workers.retire(worker, kill, replace=not succeeded)

    def _count_open(self, worker: Worker) -> bool:
        """Count a snapshot the worker is about to open; True when its successor should start now.

        A worker leaves after ``max_opens`` snapshots; its successor starts ``LEAD_OPENS`` opens
        (at most a tenth of them, at least one) before that, so the pool holds its full size while
        the successor loads and no read waits for a process start. Called with ``_opened_lock`` held.
        """
        opens = self._opens.get(worker, 0) + 1
        self._opens[worker] = opens
        if self._max_opens <= 0 or worker in self._succeeded:
            return False
        if opens >= self._max_opens - max(1, min(LEAD_OPENS, self._max_opens // 10)):
            self._succeeded.add(worker)
            return True
        return False

    def pids(self) -> list[int]:
        return self._workers.pids()

    # -- requests ------------------------------------------------------------------------------

    def run(self, request: SparqlRequest, limits: SparqlLimits) -> SparqlAnswer:
        """Answer a SPARQL request on a snapshot holding every write acknowledged before it."""
        return _answer(self.exchange((request, limits), limits.timeout, self._snapshots.written()))

    def exchange(self, payload: tuple[Any, ...], timeout: float, generation: int) -> tuple[Any, ...]:
        """Send ``(snapshot, *payload)`` to a free worker, on a snapshot of at least ``generation`` writes.

        One deadline for the whole request: the wait for a snapshot and for a worker count against
        ``timeout``, so no answer comes later than that (plus the kill). The snapshot is chosen
        first, so no worker sits idle while a request waits for the next snapshot.
        """
        if self.unavailable is not None:
            raise EndpointUnavailableError(self.unavailable)
        if not self._admission.acquire(blocking=False):
            raise EndpointBusyError(f"every {self.role} is busy and the queue is full")
        deadline = time.monotonic() + timeout
        try:
            try:
                snapshot, _ = self._snapshots.acquire(generation, deadline)
            except SnapshotTimeoutError:
                raise EndpointBusyError(f"no snapshot of the store was ready within the {timeout:g} s limit") from None
            try:
                worker = self._workers.idle.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                self._snapshots.release(snapshot)
                raise EndpointBusyError(f"no {self.role} became free within {timeout:g} s") from None
            return self._dispatch(worker, snapshot, payload, timeout, deadline)
        finally:
            self._admission.release()

    def _dispatch(
        self, worker: Worker, snapshot: str, payload: tuple[Any, ...], timeout: float, deadline: float
    ) -> tuple[Any, ...]:
        with self._opened_lock:
            previous = self._opened.get(worker, "")
            self._opened[worker] = snapshot  # held by this worker until it opens a newer one or leaves
            successor = previous != snapshot and self._count_open(worker)
        if previous:
            self._snapshots.release(previous)
        if successor:
            self._workers.start()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._workers.idle.put(worker)
            raise EndpointBusyError(f"no {self.role} became free within {timeout:g} s")
        try:
            worker.conn.send((snapshot, *payload))
            ready = worker.conn.poll(remaining)
            leaving, reply = worker.conn.recv() if ready else (True, None)
        except (EOFError, OSError):
            self._retire(worker, kill=True)
            raise StoreError(f"a {self.role} stopped while answering; the request was not answered") from None
        if reply is None:
            self._retire(worker, kill=True)
            what = "query" if self.role == "SPARQL worker" else "read"
            raise QueryTimeoutError(f"the {what} ran past {timeout:g} s and was stopped")
        if leaving:
            self._retire(worker, kill=False)
        else:
            self._workers.idle.put(worker)
        return tuple(reply)

    def close(self) -> None:
        self._workers.close()


def _answer(reply: tuple[Any, ...]) -> SparqlAnswer:
    status = reply[0]
    if status == "ok":
        return SparqlAnswer(body=reply[1], media_type=reply[2])
    if status == "refused":
        raise QueryRefusedError(reply[1], reply[2], reply[3])
    if status == "too_large":
        raise ResultTooLargeError(reply[1])
    if status == "row_cap":
        raise RowCapExceededError(reply[1])
    if status == "not_acceptable":
        raise NotAcceptableError(reply[1])
    raise StoreError(str(reply[1]))
