"""The ontology, the shapes and the JSON-LD context where their w3id.org IRIs lead, by content negotiation.

``https://w3id.org/ipkg/ontology#Term`` is a hash IRI: every term resolves to the ontology document,
``/ontology``, which answers browsers (``Accept: text/html``) with the HTML documentation
(``docs/ontology/index.html``, made by ``ipkg ontology-docs``; the fragment opens the term) and RDF
clients with Turtle (the default), JSON-LD or N-Triples. The shapes (``https://w3id.org/ipkg/shapes#``)
are served at ``/shapes`` and the case context at ``/context.jsonld``. All public, like the guidelines.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.html import PAGE_HEADERS, wants_html
from api.openapi_docs import rdf_doc
from api.problems import ProblemError
from api.sparql_results import GRAPH_TYPES, MEDIA_TYPE_OF, negotiate, serialize_graph
from kb import resources
from kb.knowledge import parse_files
from kb.ontology_docs import output_file as documentation_file

router = APIRouter(tags=["ontology"])
RDF_HEADERS = {"Vary": "Accept", "Access-Control-Allow-Origin": "*"}


@lru_cache(maxsize=8)
def _serialized(which: str, fmt: str) -> bytes:
    files = resources.ontology_files() if which == "ontology" else resources.criterion_shape_files()
    graph = parse_files(files)
    return serialize_graph(graph, fmt)


async def _rdf(which: str, accept: str | None) -> Response:
    fmt = negotiate(accept, GRAPH_TYPES, "turtle")
    if fmt is None:
        raise ProblemError(406, "Not acceptable", "available as text/turtle, application/ld+json or application/n-triples")
    body = await run_in_threadpool(_serialized, which, fmt)
    return Response(body, media_type=MEDIA_TYPE_OF[fmt], headers=RDF_HEADERS)


@router.get(
    "/ontology",
    summary="The ontology: HTML documentation for browsers, Turtle (default), JSON-LD or N-Triples for RDF clients",
    responses={200: {**rdf_doc("The ontology")[200], "content": {**rdf_doc("")[200]["content"], "text/html": {}}}},
)
async def ontology(request: Request) -> Response:
    if wants_html(request):
        page = documentation_file()
        if not page.is_file():
            detail = "the ontology's HTML documentation is missing: run ipkg ontology-docs"
            raise ProblemError(503, "Documentation not generated", detail)
        body = await run_in_threadpool(page.read_bytes)
        return HTMLResponse(body, headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})
    return await _rdf("ontology", request.headers.get("accept"))


@router.get(
    "/shapes", summary="The criterion shapes (SHACL): Turtle (default), JSON-LD or N-Triples", responses=rdf_doc("The shapes")
)
async def shapes(request: Request) -> Response:
    return await _rdf("shapes", request.headers.get("accept"))


@router.get(
    "/context.jsonld",
    summary="The JSON-LD context of case data",
    responses={200: {"description": "The context", "content": {"application/ld+json": {"schema": {"type": "object"}}}}},
)
async def context() -> Response:
    body = await run_in_threadpool(resources.jsonld_context_file().read_bytes)
    return Response(body, media_type="application/ld+json", headers=RDF_HEADERS)
