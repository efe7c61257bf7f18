"""FastAPI application: determinations API, guideline knowledge, read-only SPARQL endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import problems
from api.deps import get_settings
from api.openapi_docs import ERROR_RESPONSES
from api.protocol import ProtocolMiddleware, add_head_routes, install_access_log_filter
from api.routers import cases, determinations, guidelines, health, questionnaires, sparql
from api.security import AuditLog, AuditMiddleware
from kb import __version__
from kb.knowledge import load_knowledge
from kb.repository import Repository
from kb.store.factory import open_store


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.dependency_overrides.get(get_settings, get_settings)()
    knowledge = load_knowledge()
    store = open_store(settings)
    repository = Repository(store, knowledge)
    repository.load_knowledge_graphs()
    if settings.preload_examples:
        from kb.examples import preload_examples

        preload_examples(repository)
    app.state.repository = repository
    app.state.audit = AuditLog(settings.audit_log)
    try:
        yield
    finally:
        app.state.repository = None
        store.close()


app = FastAPI(
    title="Interventional pain guideline knowledge graph",
    version=__version__,
    description="Medical-necessity determinations for interventional pain procedures, the guideline "
    "knowledge they rest on, and a read-only SPARQL 1.1 endpoint. Errors are RFC 9457 problem details.",
    lifespan=lifespan,
    responses=ERROR_RESPONSES,
)
install_access_log_filter()
app.add_middleware(ProtocolMiddleware)  # inside the audit: 414s and redirects are audited too
app.add_middleware(AuditMiddleware, audit=lambda: getattr(app.state, "audit", None))
problems.install(app)
for router in (health.router, cases.router, determinations.router, questionnaires.router, guidelines.router, sparql.router):
    app.include_router(add_head_routes(router))
