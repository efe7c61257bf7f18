"""FastAPI application: determinations API, guideline knowledge, read-only SPARQL endpoint."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import problems
from api.deps import get_settings
from api.html import STATIC_DIR
from api.openapi_docs import ERROR_RESPONSES
from api.protocol import ProtocolMiddleware, add_head_routes, install_access_log_filter
from api.routers import cases, determinations, fhir, guidelines, health, metrics, ontology, questionnaires, sparql
from api.security import AuditLog, AuditMiddleware
from api.workers import CaseWorkers
from kb import __version__
from kb.gc_settle import settle, unsettle
from kb.knowledge import load_knowledge
from kb.repository import Repository
from kb.store.base import Store
from kb.store.factory import open_store

log = logging.getLogger("ipkg.cases")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.dependency_overrides.get(get_settings, get_settings)()
    knowledge = load_knowledge()
    # Spawned first: the case workers load the knowledge in the background while the store opens
    # (on demand: at the first case, see api.workers.get_case_workers).
    app.state.case_workers = None if settings.case_workers_on_demand else CaseWorkers.from_settings(settings)
    store: Store | None = None
    try:
        store = open_store(settings)
        repository = Repository(store, knowledge)
        repository.load_knowledge_graphs()
        if settings.preload_examples:
            from kb.examples import preload_examples

            preload_examples(repository)
        if store.sole_writer:  # the lists are answered from an index of the stored determinations
            await asyncio.to_thread(repository.index_determinations, settings.query_timeout_seconds)
        app.state.repository = repository
        app.state.audit = AuditLog(settings.audit_log)
        # Serve once a case can be decided (the workers loaded while the store opened).
        case_workers = app.state.case_workers
        if isinstance(case_workers, CaseWorkers) and not await asyncio.to_thread(case_workers.pool.wait_ready):
            log.error("no case worker started; cases are answered 503 until one does")
        settle()  # what start-up built stays: out of every later collection (kb/gc_settle.py)
        yield
    finally:
        unsettle()  # back under the collector: an application started again in this process frees it
        case_workers = app.state.case_workers
        if isinstance(case_workers, CaseWorkers):
            case_workers.shutdown()  # cases in flight end first, then the store closes
        app.state.case_workers = None
        app.state.repository = None
        if store is not None:
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
for router in (
    health.router,
    cases.router,
    determinations.router,
    questionnaires.router,
    guidelines.router,
    sparql.router,
    fhir.router,
):
    app.include_router(add_head_routes(router))
# The pages' scripts, styles and the vendored SPARQL editor (HTML pages: api/html.py).
for router in (metrics.router, ontology.router):
    app.include_router(add_head_routes(router))
app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
