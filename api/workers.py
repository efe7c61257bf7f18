"""The bounded pool that runs case work (parsing, form checks, determination, storing) off the event loop.

At most ``case_workers`` cases are processed at once and at most ``case_queue`` more wait for a
worker. A case that finds the queue full is refused at once with 503 and ``Retry-After``; the
event loop itself never parses or validates, so ``/health`` and the read endpoints keep answering
while cases are processed.
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

T = TypeVar("T")
RETRY_AFTER_SECONDS = 2


class CaseWorkers:
    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="case-worker")
        self._admitted = 0
        self._lock = threading.Lock()

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
        self._executor.shutdown(wait=True, cancel_futures=True)


async def get_case_workers(request: Request, settings: SettingsDep) -> CaseWorkers:
    """The app's pool, made on first use from the settings (runs on the event loop: no race)."""
    workers = getattr(request.app.state, "case_workers", None)
    if workers is None:
        workers = CaseWorkers(settings.case_workers, settings.case_queue)
        request.app.state.case_workers = workers
    assert isinstance(workers, CaseWorkers)
    return workers


CaseWorkersDep = Annotated[CaseWorkers, Depends(get_case_workers)]
