"""GET /health: the service is up and its store answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import KnowledgeDep, RepositoryDep, SettingsDep
from kb import __version__

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and store check (no authentication)")
def health(knowledge: KnowledgeDep, repository: RepositoryDep, settings: SettingsDep) -> dict[str, Any]:
    store_ok = repository.ready()
    return {
        "status": "ok" if store_ok else "degraded",
        "version": __version__,
        "store": settings.store,
        "criteria": len(knowledge.criteria),
    }
