"""GET /health: the service is up and its store answers.

The handler runs on the event loop and uses no thread-pool dependency, so it answers while every
worker thread is busy with determinations or queries. The store check is one small read; with the
embedded store a store reader answers it on the newest snapshot, so it never waits behind the
store writer's writes or a client's SPARQL query. At most one such check is in flight, and /health
waits for it at most until ``STORE_CHECK_WAIT_SECONDS`` after the check started: a store that has
not answered by then is reported as ``"storeStatus": "busy"`` (the service is up; the store's
readers are working through their queue), one that failed as ``"unavailable"`` (and ``"status":
"degraded"``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request

from api.deps import get_settings
from kb import __version__
from kb.repository import Repository
from kb.store.base import StoreError

router = APIRouter(tags=["health"])
STORE_CHECK_WAIT_SECONDS = 0.05


class StoreCheck:
    """One store read at a time for the health check, shared by concurrent /health requests.

    A request that starts a check waits for it at most ``wait`` seconds; a request that finds one
    already running waits only for what is left of that, so while the store works through a long
    queue /health answers at once.
    """

    def __init__(self) -> None:
        self._task: asyncio.Future[bool] | None = None
        self._started = 0.0

    async def status(self, repository: Repository, wait: float) -> str:
        now = time.monotonic()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(asyncio.to_thread(repository.ready))
            self._task.add_done_callback(_retrieve)
            self._started = now
        remaining = max(0.0, wait - (now - self._started))
        try:
            ready = await asyncio.wait_for(asyncio.shield(self._task), remaining)
        except TimeoutError:
            return "busy"
        except StoreError:
            return "unavailable"
        return "ok" if ready else "unavailable"


def _retrieve(task: asyncio.Future[bool]) -> None:
    """Consume a finished check's exception (the waiting request may have stopped waiting)."""
    if not task.cancelled():
        task.exception()


@router.get("/health", summary="Liveness and store check (no authentication)")
async def health(request: Request) -> dict[str, Any]:
    state = request.app.state
    repository = getattr(state, "repository", None)
    settings = request.app.dependency_overrides.get(get_settings, get_settings)()
    if not isinstance(repository, Repository):
        return {"status": "degraded", "version": __version__, "store": settings.store, "storeStatus": "unavailable"}
    check = getattr(state, "store_check", None)
    if not isinstance(check, StoreCheck):
        check = state.store_check = StoreCheck()
    store_status = await check.status(repository, STORE_CHECK_WAIT_SECONDS)
    return {
        "status": "degraded" if store_status == "unavailable" else "ok",
        "version": __version__,
        "store": settings.store,
        "storeStatus": store_status,
        "criteria": len(repository.knowledge.criteria),
    }
