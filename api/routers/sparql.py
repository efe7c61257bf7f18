"""The read-only SPARQL 1.1 Protocol endpoint over the store (union of the named graphs)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.bodies import media_type, read_limited
from api.deps import ReadAccess, RepositoryDep, SettingsDep
from api.problems import ProblemError
from api.sparql_guard import check_query
from api.sparql_results import (
    GRAPH_TYPES,
    MEDIA_TYPE_OF,
    RESULT_TYPES,
    negotiate,
    outcome_graph,
    serialize_graph,
    serialize_results,
)
from kb import resources
from kb.repository import Repository

router = APIRouter(tags=["sparql"])


def _execute(text: str, accept: str | None, repository: Repository, timeout: float, row_cap: int) -> Response:
    checked = check_query(text, lambda iri: iri in repository.store.graph_names(iri))
    graph_form = checked.form in ("construct", "describe")
    fmt = negotiate(accept, GRAPH_TYPES if graph_form else RESULT_TYPES, "turtle" if graph_form else "json")
    if fmt is None:
        offered = (
            "text/turtle, application/ld+json, application/n-triples"
            if graph_form
            else "application/sparql-results+json, application/sparql-results+xml, text/csv, text/tab-separated-values"
        )
        raise ProblemError(406, "Not acceptable", f"this query's results are available as {offered}")
    outcome = repository.store.query(text, timeout, row_cap)
    body = serialize_graph(outcome_graph(outcome), fmt) if graph_form else serialize_results(outcome, fmt)
    return Response(body, media_type=MEDIA_TYPE_OF[fmt])


@router.get("/sparql", summary="SPARQL 1.1 query (GET ?query=)")
async def sparql_get(
    request: Request,
    repository: RepositoryDep,
    settings: SettingsDep,
    _: ReadAccess,
    query: Annotated[str, Query(min_length=1, max_length=4000, description="a SPARQL 1.1 query (POST longer ones)")],
) -> Response:
    if request.query_params.getlist("query") != [query]:
        raise ProblemError(400, "Malformed request", "give exactly one query parameter")
    return await run_in_threadpool(
        _execute, query, request.headers.get("accept"), repository, settings.query_timeout_seconds, settings.row_cap
    )


@router.post("/sparql", summary="SPARQL 1.1 query (form-encoded or application/sparql-query)")
async def sparql_post(request: Request, repository: RepositoryDep, settings: SettingsDep, _: ReadAccess) -> Response:
    body = await read_limited(request, settings.max_body_bytes)
    kind = media_type(request)
    try:
        text_body = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(400, "Malformed request", "the body is not UTF-8") from exc
    if kind == "application/sparql-query":
        text = text_body
    elif kind == "application/x-www-form-urlencoded":
        fields = parse_qs(text_body, keep_blank_values=True)
        if "update" in fields:
            raise ProblemError(403, "Updates are refused", "this endpoint answers queries only; SPARQL Update is refused")
        queries = fields.get("query", [])
        if len(queries) != 1:
            raise ProblemError(400, "Malformed request", "give exactly one query field")
        text = queries[0]
    elif kind == "application/sparql-update":
        raise ProblemError(403, "Updates are refused", "this endpoint answers queries only; SPARQL Update is refused")
    else:
        raise ProblemError(415, "Unsupported media type", "send application/sparql-query or application/x-www-form-urlencoded")
    if not text.strip():
        raise ProblemError(400, "Malformed request", "the query is empty")
    return await run_in_threadpool(
        _execute, text, request.headers.get("accept"), repository, settings.query_timeout_seconds, settings.row_cap
    )


@router.get("/sparql/examples", summary="Example queries (the SPARQL cookbook), with their questions")
def sparql_examples() -> list[dict[str, Any]]:
    examples = []
    for path in sorted((resources.cookbook_dir()).glob("*.rq")):
        lines = path.read_text(encoding="utf-8").splitlines()
        question = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else path.stem
        examples.append({"name": path.stem, "question": question, "query": "\n".join(lines)})
    return examples
