"""A pool of case worker processes (``kb.case_worker``): case work off the service's interpreter.

Parsing, form checks, enrichment, pySHACL validation and the decision are CPU-bound Python; in a
thread of the service they would hold the interpreter lock the event loop needs. Here each runs in
one of ``size`` spawned processes, each of which loads the ontology and shapes once. ``call`` blocks
its (worker) thread until the case is answered:

- a case that runs past ``timeout`` seconds costs its worker: the pool kills it (SIGKILL) and
  starts a replacement in the background, and the call raises ``CaseTimeoutError``;
- a worker that dies while it holds a case (killed, crashed) is replaced and the case is sent to
  another worker, once; a case that brings down two workers raises ``CaseWorkerCrashedError``;
- a worker that grew past its memory limit exits after its answer and is replaced.

The pool holds no queue of its own: the service admits at most ``size`` callers at a time and
makes the others wait in its bounded queue (``api.workers``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from kb.case_worker import serve
from kb.casework import rebuild_error
from kb.worker_processes import StartResult, Worker, WorkerProcesses

log = logging.getLogger("ipkg.cases")
START_TIMEOUT_SECONDS = 120.0
CRASH_RETRIES = 1


class CaseTimeoutError(Exception):
    """A case ran past the time limit; its worker was killed."""


class CaseWorkerCrashedError(Exception):
    """Case workers stopped while processing this case, more often than it is retried."""


class CaseWorkersUnavailableError(Exception):
    """No case worker became available (they cannot start on this host, or the pool is closed)."""


class CaseWorkError(RuntimeError):
    """An unexpected error inside a case worker (a bug, not a refusal of the case)."""


class CasePool:
    """``size`` case worker processes; ``call(name, args)`` runs ``kb.casework.JOBS[name]`` in one."""

    def __init__(
        self,
        size: int,
        timeout: float,
        nice: int = 0,
        max_rss_bytes: int = 1024 * 1024 * 1024,
        target: Callable[..., None] = serve,
    ) -> None:
        self.size = size
        self.timeout = timeout
        self.failure: str | None = None
        self._ready = threading.Event()  # set once a worker (any) has loaded the knowledge
        self._workers = WorkerProcesses(
            target, (nice, max_rss_bytes), "case-worker", START_TIMEOUT_SECONDS, on_started=self._started
        )
        for _ in range(size):
            self._workers.start()

    # -- workers -------------------------------------------------------------------------------

    @property
    def started(self) -> int:
        """Workers started over the pool's life (replacements included)."""
        return self._workers.started

    def _started(self, result: StartResult) -> None:
        if result.worker is not None:
            self._ready.set()
        elif not self._workers.closed:  # not stopped while loading because the pool was shut down
            self.failure = f"a case worker failed to start: {result.detail}"
            log.error("%s", self.failure)

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> bool:
        """Wait until a worker has loaded the knowledge and can take a case; False if none did in time."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if self.failure is not None or time.monotonic() > deadline:
                return False
        return True

    def _retire(self, worker: Worker, kill: bool) -> None:
        """Drop a worker (killing it if asked) and start its replacement."""
        self._workers.retire(worker, kill)

    def pids(self) -> list[int]:
        """The process ids of the live workers (for tests and the load script)."""
        return self._workers.pids()

    # -- cases ---------------------------------------------------------------------------------

    def _take(self, deadline: float) -> Worker:
        while True:
            if self._workers.closed:
                raise CaseWorkersUnavailableError("the case workers are shut down")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CaseWorkersUnavailableError(self.failure or "no case worker became free in time")
            try:
                worker = self._workers.idle.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if worker.process.is_alive():
                return worker
            self._retire(worker, kill=True)  # died while idle: not this case's doing

    def call(self, name: str, args: tuple[Any, ...]) -> Any:
        """Run one job in a worker; blocks the calling thread (never call it on an event loop)."""
        crashes = 0
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            worker = self._take(deadline)
            try:
                worker.conn.send((name, args))
                if not worker.conn.poll(self.timeout):
                    self._retire(worker, kill=True)
                    raise CaseTimeoutError(f"the case ran past the {self.timeout:g} s limit and was stopped")
                leaving, reply = worker.conn.recv()
            except (EOFError, OSError):
                self._retire(worker, kill=True)
                if self._workers.closed:
                    raise CaseWorkersUnavailableError("the case workers are shut down") from None
                crashes += 1
                log.warning("a case worker stopped while processing a case (%d time(s) for this case)", crashes)
                if crashes > CRASH_RETRIES:
                    raise CaseWorkerCrashedError(
                        f"the case worker stopped while processing this case, {crashes} times"
                    ) from None
                continue
            if leaving:
                self._retire(worker, kill=False)
            else:
                self._workers.idle.put(worker)
            return _unpack(reply)

    def close(self) -> None:
        self._workers.close()


def _unpack(reply: tuple[Any, ...]) -> Any:
    status = reply[0]
    if status == "ok":
        return reply[1]
    if status == "refused":
        raise rebuild_error(reply[1], reply[2])
    raise CaseWorkError(str(reply[1]))
