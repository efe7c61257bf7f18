"""The read-only SPARQL 1.1 Protocol endpoint over the store (union of the named graphs).

This module only reads the protocol request (query, dataset parameters, media types) and maps
the outcome to HTTP; checking and evaluating the query happen in the store's SPARQL workers
(``kb.store.read_pool``), processes without network access, within the configured limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.bodies import media_type, read_limited
from api.deps import BearerDoc, ReadAccess, RepositoryDep, SettingsDep
from api.html import render, wants_html
from api.problems import ProblemError
from api.security import authenticate
from api.settings import Settings
from api.sparql_results import GRAPH_TYPES, RESULT_TYPES, negotiate
from kb import resources
from kb.store.base import (
    EndpointBusyError,
    EndpointUnavailableError,
    NotAcceptableError,
    QueryRefusedError,
    ResultTooLargeError,
    SparqlLimits,
    SparqlRequest,
)

router = APIRouter(tags=["sparql"])

UPDATE_REFUSED = "this endpoint answers queries only; SPARQL Update is refused"
DATASET_PARAMETERS = ("default-graph-uri", "named-graph-uri")
SPARQL_OPENAPI: dict[str, Any] = {
    "parameters": [
        {"name": "query", "in": "query", "required": True, "schema": {"type": "string"},
         "description": "a SPARQL 1.1 query (POST longer ones)"},
        {"name": "default-graph-uri", "in": "query", "required": False,
         "schema": {"type": "array", "items": {"type": "string"}}, "description": "a graph of the store for the default graph"},
        {"name": "named-graph-uri", "in": "query", "required": False,
         "schema": {"type": "array", "items": {"type": "string"}}, "description": "a graph of the store as a named graph"},
    ]
}


def _limits(settings: Settings) -> SparqlLimits:
    return SparqlLimits(
        timeout=settings.query_timeout_seconds,
        row_cap=settings.row_cap,
        max_response_bytes=settings.sparql_max_response_bytes,
        max_nesting=settings.sparql_max_nesting,
        max_dataset_graphs=settings.sparql_max_dataset_graphs,
    )


def _graph_iris(fields: Mapping[str, list[str]], name: str) -> tuple[str, ...]:
    iris = tuple(fields.get(name, []))
    for iri in iris:
        parts = urlsplit(iri)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c in iri for c in ' <>"{}|^`\\'):
            raise ProblemError(400, "Malformed request", f"{name} must be an absolute http(s) IRI naming a graph of the store")
    return iris


Fields = dict[str, list[str]]


def _fields(pairs: list[tuple[str, str]]) -> Fields:
    fields: Fields = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


async def _answer(request: Request, repository: RepositoryDep, settings: Settings, fields: Fields) -> Response:
    if "update" in fields:
        both = "; send either query or update" if "query" in fields else ""
        raise ProblemError(400, "Updates are refused", UPDATE_REFUSED + both)
    queries = fields.get("query", [])
    if len(queries) != 1:
        raise ProblemError(400, "Malformed request", "give exactly one query parameter")
    return await _run(request, repository, settings, queries[0], fields)


async def _run(request: Request, repository: RepositoryDep, settings: Settings, text: str, fields: Fields) -> Response:
    size = len(text.encode("utf-8"))
    if size > settings.sparql_max_query_bytes:
        raise ProblemError(413, "Query too large", f"the query has {size} bytes; the limit is {settings.sparql_max_query_bytes}")
    if not text.strip():
        raise ProblemError(400, "Malformed request", "the query is empty")
    accept = request.headers.get("accept")
    sparql_request = SparqlRequest(
        query=text,
        result_format=negotiate(accept, RESULT_TYPES, "json"),
        graph_format=negotiate(accept, GRAPH_TYPES, "turtle"),
        base_iri=str(request.url.replace(query="", fragment="")),
        default_graphs=_graph_iris(fields, "default-graph-uri"),
        named_graphs=_graph_iris(fields, "named-graph-uri"),
    )
    store = repository.store
    try:
        answer = await run_in_threadpool(store.sparql, sparql_request, _limits(settings))
    except QueryRefusedError as exc:
        raise ProblemError(exc.status, exc.title, exc.detail) from None
    except ResultTooLargeError as exc:
        detail = f"{exc}; narrow the query or add LIMIT (no partial answer is given)"
        raise ProblemError(422, "Result too large", detail) from None
    except NotAcceptableError as exc:
        raise ProblemError(406, "Not acceptable", str(exc)) from None
    except EndpointBusyError as exc:
        raise ProblemError(503, "SPARQL endpoint busy", str(exc), headers={"Retry-After": "2"}) from None
    except EndpointUnavailableError as exc:
        raise ProblemError(503, "SPARQL endpoint unavailable", str(exc), headers={"Retry-After": "60"}) from None
    return Response(answer.body, media_type=answer.media_type)


@router.api_route("/sparql", methods=["GET", "HEAD"], summary="SPARQL 1.1 query (GET ?query=)", openapi_extra=SPARQL_OPENAPI)
async def sparql_get(request: Request, repository: RepositoryDep, settings: SettingsDep, _: BearerDoc) -> Response:
    """A browser (``Accept: text/html``) that sends no query gets the SPARQL editor, which holds no data
    and needs no token; every other request is a protocol request and needs the read scope."""
    if "query" not in request.query_params and wants_html(request):
        return render(request, "sparql_editor.html", title="SPARQL editor", endpoint="/sparql", examples=cookbook_examples())
    authenticate(request, settings, "read")
    return await _answer(request, repository, settings, _fields(request.query_params.multi_items()))


@router.post("/sparql", summary="SPARQL 1.1 query (form-encoded or application/sparql-query)")
async def sparql_post(request: Request, repository: RepositoryDep, settings: SettingsDep, _: ReadAccess) -> Response:
    body = await read_limited(request, settings.max_body_bytes)
    kind = media_type(request)
    charset = request.headers.get("content-type", "").lower().partition("charset=")[2].strip(' "')
    if charset and charset not in ("utf-8", "utf8"):
        raise ProblemError(415, "Unsupported media type", "SPARQL requests must be UTF-8")
    try:
        text_body = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(400, "Malformed request", "the body is not UTF-8") from exc
    url_fields = _fields(request.query_params.multi_items())
    if kind == "application/x-www-form-urlencoded":
        form = _fields(parse_qsl(text_body, keep_blank_values=True))
        for name in DATASET_PARAMETERS:
            form[name] = url_fields.get(name, []) + form.get(name, [])
        return await _answer(request, repository, settings, form)
    if kind == "application/sparql-query":
        if "update" in url_fields or "query" in url_fields:
            raise ProblemError(400, "Malformed request", "a direct POST carries the query in its body only")
        return await _run(request, repository, settings, text_body, url_fields)
    if kind == "application/sparql-update":
        raise ProblemError(400, "Updates are refused", UPDATE_REFUSED)
    raise ProblemError(415, "Unsupported media type", "send application/sparql-query or application/x-www-form-urlencoded")


@router.api_route(
    "/sparql/examples", methods=["GET", "HEAD"], summary="Example queries (the SPARQL cookbook), with their questions"
)
def sparql_examples() -> list[dict[str, Any]]:
    return cookbook_examples()


def cookbook_examples() -> list[dict[str, Any]]:
    """The cookbook's questions with their queries (docs/cookbook/*.rq, the first line the question)."""
    examples = []
    for path in sorted((resources.cookbook_dir()).glob("*.rq")):
        lines = path.read_text(encoding="utf-8").splitlines()
        question = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else path.stem
        examples.append({"name": path.stem, "question": question, "query": "\n".join(lines)})
    return examples
