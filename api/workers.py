"""The bounded pool that runs case work off the event loop and off the service's interpreter.

At most ``case_workers`` cases are processed at once and at most ``case_queue`` more wait for a
worker. A case that finds the queue full is refused at once with 503 and ``Retry-After``. Each
admitted case gets one of ``case_workers`` threads, which hands the CPU-bound part (parsing, form
checks, enrichment, validation, decision) to a case worker *process* (``kb.case_pool``) and then
writes the result through the store's writer process. The threads only wait on pipes, so the event
loop keeps the interpreter: ``/health`` and the read endpoints answer while cases are processed.
A case over ``case_timeout_seconds`` costs its worker process (killed and replaced) and is
answered 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from api.deps import SettingsDep
from api.problems import ProblemError
from api.settings import Settings
from kb.case_pool import CasePool, CaseTimeoutError, CaseWorkerCrashedError, CaseWorkersUnavailableError

T = TypeVar("T")
RETRY_AFTER_SECONDS = 2


class CaseWorkers:
    def __init__(self, workers: int, queue: int, pool: CasePool | None = None) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._pool = pool
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="case-worker")
        self._admitted = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> CaseWorkers:
        """The service's pool: ``case_workers`` threads, each driving one case worker process."""
        pool = CasePool(
            settings.case_workers,
            settings.case_timeout_seconds,
            settings.case_worker_nice,
            settings.case_worker_max_rss_mib * 1024 * 1024,
        )
        return cls(settings.case_workers, settings.case_queue, pool)

    @property
    def pool(self) -> CasePool:
        if self._pool is None:
            raise RuntimeError("this CaseWorkers has no case worker processes")
        return self._pool

    def process(self, name: str, *args: Any) -> Any:
        """Run ``kb.casework.JOBS[name](*args, knowledge)`` in a case worker process (from a worker thread).

        The pool's own failures become problem details: a case over its time limit or with no
        worker free is 503 with ``Retry-After``; a case that brought down two workers is 422.
        """
        try:
            return self.pool.call(name, args)
        except CaseTimeoutError as exc:
            raise ProblemError(
                503, "Case time limit exceeded", f"{exc}; nothing was stored", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            ) from None
        except CaseWorkersUnavailableError as exc:
            raise ProblemError(
                503, "Service busy", f"{exc}; send this case again later", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            ) from None
        except CaseWorkerCrashedError as exc:
            raise ProblemError(
                422, "Case could not be processed", f"{exc}; nothing was stored (the case may be too large to process)"
            ) from None

    @property
    def admitted(self) -> int:
        """Cases being processed or waiting for a worker."""
        return self._admitted

    def _release(self, _: Future[Any] | None = None) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on a worker thread; 503 when every worker and queue place is taken.

        A place is released when the work ends, not when the client goes away: work that has
        started always finishes (its store write is one transaction), and is counted until then.
        """
        with self._lock:
            if self._admitted >= self.capacity:
                raise ProblemError(
                    503,
                    "Service busy",
                    f"{self.capacity} cases are already being processed or waiting; send this case again later",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            self._admitted += 1
        try:
            future = self._executor.submit(function, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.close()  # a case still being processed fails at once instead of running on
        self._executor.shutdown(wait=True, cancel_futures=True)


async def get_case_workers(request: Request, settings: SettingsDep) -> CaseWorkers:
    """The app's pool (started with the app; made here on first use otherwise: on the event loop, no race).

    Making it only spawns the worker processes; they load the knowledge in the background.
    """
    workers = getattr(request.app.state, "case_workers", None)
    if workers is None:
        workers = CaseWorkers.from_settings(settings)
        request.app.state.case_workers = workers
    assert isinstance(workers, CaseWorkers)
    return workers


CaseWorkersDep = Annotated[CaseWorkers, Depends(get_case_workers)]
