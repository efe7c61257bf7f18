"""Spawned worker processes on a pipe: launch one, wait for its first word, hand it out, retire it.

Both worker pools (``kb.case_pool`` for case work, ``kb.store.read_pool`` for reads of store
snapshots) keep their workers here. A worker is a spawned process running ``target(conn, *args)``;
it first sends ``("ready", detail)`` (anything else, or nothing within the start timeout, is a
failure: the process is killed). Ready workers wait in the idle queue; a caller takes one, talks to
it over its pipe, and either gives it back or retires it (killed when it ran past a limit or broke
its pipe, released when it said it leaves). A retired worker's replacement starts in a background
thread, so no caller waits for a process to load, and a worker that leaves is reaped in one, so no
caller waits for it to exit.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("ipkg.workers")


@dataclass(eq=False)
class Worker:
    process: BaseProcess
    conn: Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def release(self) -> None:
        """For a worker that said it leaves: close its pipe and wait for it to exit."""
        self.conn.close()
        self.process.join(5)


@dataclass(frozen=True)
class StartResult:
    """What a starting worker said: the worker when it is ready, else None; its status and detail."""

    worker: Worker | None
    status: str
    detail: str


class WorkerProcesses:
    """The live workers of one pool, and the idle ones among them."""

    def __init__(
        self,
        target: Callable[..., None],
        args: tuple[Any, ...],
        name: str,
        start_timeout: float,
        on_started: Callable[[StartResult], None] = lambda result: None,
    ) -> None:
        self._target = target
        self._args = args
        self.name = name
        self.start_timeout = start_timeout
        self._on_started = on_started
        self._context = multiprocessing.get_context("spawn")
        self.idle: queue.Queue[Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: set[Worker] = set()
        self.closed = False
        self.started = 0  # workers launched over the pool's life (replacements included)

    def launch(self) -> tuple[BaseProcess, Connection]:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=self._target, args=(child, *self._args), daemon=True, name=self.name)
        process.start()
        child.close()
        with self._lock:
            self.started += 1
        return process, parent

    def await_ready(self, process: BaseProcess, conn: Connection) -> StartResult:
        """Wait for a launched worker's first message; a worker that is not ready is killed."""
        try:
            if not conn.poll(self.start_timeout):
                raise EOFError(f"it did not start within {self.start_timeout:.0f} s")
            status, detail = conn.recv()
        except (EOFError, OSError) as exc:
            status, detail = "failed", str(exc) or type(exc).__name__
        if status != "ready":
            process.kill()
            process.join(5)
            conn.close()
            return StartResult(None, str(status), str(detail))
        return StartResult(Worker(process, conn), "ready", str(detail))

    def add(self, worker: Worker) -> bool:
        """Put a ready worker into service (killed instead when the pool is closed)."""
        with self._lock:
            if self.closed:
                worker.kill()
                return False
            self._workers.add(worker)
        self.idle.put(worker)
        return True

    def start(self) -> None:
        """Launch a worker and put it into service once ready, in a background thread."""
        if self.closed:
            return
        process, conn = self.launch()

        def wait() -> None:
            result = self.await_ready(process, conn)
            if result.worker is not None:
                self.add(result.worker)
            self._on_started(result)

        threading.Thread(target=wait, name=f"{self.name}-start", daemon=True).start()

    def retire(self, worker: Worker, kill: bool, replace: bool = True) -> None:
        """Take a worker out of service (killing it, or letting it exit) and start its replacement.

        The replacement is launched first, and the old process is reaped in a background thread,
        so the caller (a request that got the worker's last reply) waits for neither. ``replace``
        is False when a successor was already started ahead of a planned leave.
        """
        with self._lock:
            self._workers.discard(worker)
            closed = self.closed
        if replace and not closed:
            self.start()
        if kill:
            worker.kill()  # a signal and the reaping of a process that can no longer run: immediate
        else:
            threading.Thread(target=worker.release, name=f"{self.name}-reap", daemon=True).start()

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(w.process.pid for w in self._workers if w.process.pid is not None)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()
