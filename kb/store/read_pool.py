"""A pool of killable SPARQL worker processes with a bounded queue (see ``kb.store.sparql_worker``).

Each query runs in one worker. A query that runs past its time limit costs that worker only: the
pool kills it (SIGKILL, the only way to stop a running Oxigraph query) and starts a replacement in
the background, while the other workers and the rest of the service go on. At most ``size``
queries run and ``queue_length`` wait; any further query is refused at once (``EndpointBusyError``,
503 with Retry-After), and a query that waited for a worker longer than its time limit is refused
the same way. A query that got a worker has its whole time limit to run. Callers block in a thread, never on an event loop.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

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
from kb.store.sparql_worker import serve

log = logging.getLogger("ipkg.sparql")
START_TIMEOUT_SECONDS = 60.0


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    snapshot: str = ""

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ReadPool:
    """``size`` worker processes; ``run`` answers one request on the snapshot ``snapshot()`` names."""

    def __init__(
        self,
        size: int,
        queue_length: int,
        require_sandbox: bool,
        snapshot: Callable[[], str],
        target: Callable[[Connection, bool], None] = serve,
    ) -> None:
        self.size = size
        self._target = target
        self.require_sandbox = require_sandbox
        self._snapshot = snapshot
        self._context = multiprocessing.get_context("spawn")
        self._admission = threading.BoundedSemaphore(size + queue_length)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        # Held while a snapshot is chosen and claimed for a worker, so that the store's clean-up
        # (which asks snapshots_in_use() under this same lock) never deletes one being handed out.
        self._claim = threading.RLock()
        self._workers: set[_Worker] = set()
        self._closed = False
        self.unavailable: str | None = None
        self.isolation = ""
        starting = [self._launch() for _ in range(size)]
        for pending in starting:
            worker = self._await_ready(*pending)
            if worker is not None:
                self._add(worker)
        if self.unavailable is not None:
            log.error("SPARQL endpoint DISABLED: %s", self.unavailable)
        elif not self.isolation.startswith("isolated"):
            log.warning("SPARQL workers run WITHOUT network isolation (%s)", self.isolation)
        else:
            log.info("SPARQL workers %s", self.isolation)

    # -- workers -------------------------------------------------------------------------------

    def _launch(self) -> tuple[BaseProcess, Connection]:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=self._target, args=(child, self.require_sandbox), daemon=True)
        process.start()
        child.close()
        return process, parent

    def _await_ready(self, process: BaseProcess, conn: Connection) -> _Worker | None:
        try:
            if not conn.poll(START_TIMEOUT_SECONDS):
                raise EOFError("the worker did not start in time")
            status, detail = conn.recv()
        except (EOFError, OSError) as exc:
            process.kill()
            process.join(5)
            log.error("a SPARQL worker failed to start: %s", exc)
            return None
        if status != "ready":
            process.join(5)
            conn.close()
            self.unavailable = (
                f"the SPARQL workers cannot start: {detail}; set IPKG_SPARQL_ALLOW_UNSANDBOXED=true to run them anyway"
            )
            return None
        self.isolation = str(detail)
        return _Worker(process, conn)

    def _add(self, worker: _Worker) -> None:
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._workers.add(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        """Drop a dead or killed worker and start its replacement in the background."""
        with self._lock:
            self._workers.discard(worker)
            if self._closed:
                return

        def start() -> None:
            fresh = self._await_ready(*self._launch())
            if fresh is not None:
                self._add(fresh)

        threading.Thread(target=start, name="sparql-worker-start", daemon=True).start()

    def snapshots_in_use(self) -> set[str]:
        with self._claim, self._lock:
            return {w.snapshot for w in self._workers if w.snapshot}

    # -- queries -------------------------------------------------------------------------------

    def run(self, request: SparqlRequest, limits: SparqlLimits) -> SparqlAnswer:
        if self.unavailable is not None:
            raise EndpointUnavailableError(self.unavailable)
        if not self._admission.acquire(blocking=False):
            raise EndpointBusyError("every SPARQL worker is busy and the queue is full")
        # One deadline for the whole request: the wait for a worker and for a snapshot count against
        # the query's time limit, so no answer comes later than the limit (plus the kill).
        deadline = time.monotonic() + limits.timeout
        try:
            try:
                worker = self._idle.get(timeout=limits.timeout)
            except queue.Empty:
                raise EndpointBusyError(f"no SPARQL worker became free within {limits.timeout:g} s") from None
            return self._dispatch(worker, request, limits, deadline)
        finally:
            self._admission.release()

    def _dispatch(self, worker: _Worker, request: SparqlRequest, limits: SparqlLimits, deadline: float) -> SparqlAnswer:
        try:
            with self._claim:
                snapshot = self._snapshot()
                worker.snapshot = snapshot
        except BaseException:
            self._idle.put(worker)
            raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._idle.put(worker)
            raise EndpointBusyError(f"no snapshot of the store was ready within the {limits.timeout:g} s limit")
        try:
            worker.conn.send((snapshot, request, limits))
            ready = worker.conn.poll(remaining)
            leaving, reply = worker.conn.recv() if ready else (True, None)
        except (EOFError, OSError):
            worker.kill()
            self._replace(worker)
            raise StoreError("a SPARQL worker stopped while answering; the query was not answered") from None
        if reply is None:
            worker.kill()
            self._replace(worker)
            raise QueryTimeoutError(f"the query ran past {limits.timeout:g} s and was stopped")
        if leaving:
            worker.conn.close()
            worker.process.join(5)
            self._replace(worker)
        else:
            self._idle.put(worker)
        return _answer(reply)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()


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
