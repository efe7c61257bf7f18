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
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from kb.case_worker import serve
from kb.casework import rebuild_error

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


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


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
        self._args = (nice, max_rss_bytes)
        self._target = target
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._closed = False
        self.failure: str | None = None
        self._ready = threading.Event()  # set once a worker (any) has loaded the knowledge
        self.started = 0  # workers started over the pool's life (replacements included)
        for _ in range(size):
            self._start_one()

    # -- workers -------------------------------------------------------------------------------

    def _start_one(self) -> None:
        """Spawn a worker and hand it to the idle queue once it has loaded the knowledge (in the background)."""
        parent, child = self._context.Pipe()
        process = self._context.Process(target=self._target, args=(child, *self._args), daemon=True, name="case-worker")
        process.start()
        child.close()
        with self._lock:
            self.started += 1
        threading.Thread(target=self._await_ready, args=(process, parent), name="case-worker-start", daemon=True).start()

    def _await_ready(self, process: BaseProcess, conn: Connection) -> None:
        try:
            if not conn.poll(START_TIMEOUT_SECONDS):
                raise EOFError(f"it did not start within {START_TIMEOUT_SECONDS:.0f} s")
            status, detail = conn.recv()
        except (EOFError, OSError) as exc:
            status, detail = "failed", str(exc) or type(exc).__name__
        if status != "ready":
            process.kill()
            process.join(5)
            conn.close()
            if self._closed:
                return  # stopped while loading: the pool was shut down
            self.failure = f"a case worker failed to start: {detail}"
            log.error("%s", self.failure)
            return
        worker = _Worker(process, conn)
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._workers.add(worker)
        self._idle.put(worker)
        self._ready.set()

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> bool:
        """Wait until a worker has loaded the knowledge and can take a case; False if none did in time."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if self.failure is not None or time.monotonic() > deadline:
                return False
        return True

    def _retire(self, worker: _Worker, kill: bool) -> None:
        """Drop a worker (killing it if asked) and start its replacement."""
        if kill:
            worker.kill()
        else:
            worker.conn.close()
            worker.process.join(5)
        with self._lock:
            self._workers.discard(worker)
            if self._closed:
                return
        self._start_one()

    def pids(self) -> list[int]:
        """The process ids of the live workers (for tests and the load script)."""
        with self._lock:
            return sorted(w.process.pid for w in self._workers if w.process.pid is not None)

    # -- cases ---------------------------------------------------------------------------------

    def _take(self, deadline: float) -> _Worker:
        while True:
            if self._closed:
                raise CaseWorkersUnavailableError("the case workers are shut down")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CaseWorkersUnavailableError(self.failure or "no case worker became free in time")
            try:
                worker = self._idle.get(timeout=min(remaining, 0.5))
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
                if self._closed:
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
                self._idle.put(worker)
            return _unpack(reply)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()


def _unpack(reply: tuple[Any, ...]) -> Any:
    status = reply[0]
    if status == "ok":
        return reply[1]
    if status == "refused":
        raise rebuild_error(reply[1], reply[2])
    raise CaseWorkError(str(reply[1]))
