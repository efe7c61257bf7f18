"""Determinations: create (inline case or stored case id), read, list, and the SHACL report."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.bodies import case_limits, media_type, read_limited
from api.deps import BearerDoc, ReadAccess, RepositoryDep, SettingsDep, WriteAccess
from api.determination_view import determination_page, list_page
from api.html import has_credentials, shell, wants_html
from api.negotiation import RDF_BODY_FORMATS, rdf_response
from api.openapi_docs import DETERMINATION_BODY, DETERMINATION_RESPONSES, rdf_doc
from api.problems import ProblemError
from api.security import authenticate
from api.sparql_results import negotiate
from api.workers import CaseWorkers, CaseWorkersDep
from kb.pipeline.caseio import CaseLimits
from kb.pipeline.caselimits import json_nesting
from kb.repository import DeterminationFilter, PreparedDetermination, Repository, StoredDetermination

router = APIRouter(tags=["determinations"])
RESPONSE_FORMATS = {
    "application/json": "json",
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}


def _respond(stored: StoredDetermination, repository: Repository, accept: str | None, status: int) -> Response:
    fmt = negotiate(accept, RESPONSE_FORMATS, "json")
    if fmt is None:
        raise ProblemError(406, "Not acceptable", "available as application/json, text/turtle, application/ld+json")
    headers = {"Location": f"/determinations/{stored.id}"}
    if fmt == "json":
        return JSONResponse(stored.machine_form, status_code=status, headers=headers)
    response = rdf_response(repository.determination_rdf(stored.id), accept)
    response.status_code = status
    response.headers.update(headers)
    return response


@router.post(
    "/determinations",
    status_code=201,
    summary="Determine a case sent inline or stored earlier",
    openapi_extra=DETERMINATION_BODY,
    responses=DETERMINATION_RESPONSES,
)
async def create_determination(
    request: Request, settings: SettingsDep, repository: RepositoryDep, workers: CaseWorkersDep, _: WriteAccess
) -> Response:
    """Send the case as text/turtle or application/ld+json, or send application/json
    ``{"caseId": "<id of a stored case>"}``. Answers 201 with the determination and its Location."""
    received_at = dt.datetime.now(dt.UTC)
    kind = media_type(request)
    body = await read_limited(request, settings.max_body_bytes)
    if kind == "application/json":
        payload = _case_reference(body)
        case_id = payload.get("caseId") if isinstance(payload, dict) else None
        if not isinstance(case_id, str):
            raise ProblemError(422, "Invalid request", 'send {"caseId": "<id>"} or the case itself as Turtle / JSON-LD')
        stored = await workers.run(_determine_stored, workers, repository, case_id)
    else:
        fmt = RDF_BODY_FORMATS.get(kind)
        if fmt is None:
            raise ProblemError(
                415,
                "Unsupported media type",
                "send text/turtle, application/ld+json, or application/json with a caseId",
            )
        stored = await workers.run(_determine_sent, workers, repository, body, fmt, case_limits(settings), received_at)
    return await run_in_threadpool(_respond, stored, repository, request.headers.get("accept"), 201)


CASE_REFERENCE_MAX_BYTES = 4096


def _case_reference(body: bytes) -> Any:
    """The parsed ``{"caseId": ...}`` body: small and flat, so parsing it on the event loop costs nothing."""
    if len(body) > CASE_REFERENCE_MAX_BYTES:
        raise ProblemError(413, "Request body too large", f'a {{"caseId": ...}} body is at most {CASE_REFERENCE_MAX_BYTES} bytes')
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(400, "Malformed JSON", f"the body is not UTF-8 text (byte {exc.start})") from None
    depth = json_nesting(text)
    if depth > 1:
        raise ProblemError(400, "Malformed JSON", f'send {{"caseId": "<id>"}}; this body nests {depth} deep')
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemError(400, "Malformed JSON", f"invalid JSON: {exc}") from None


def _determine_stored(workers: CaseWorkers, repository: Repository, case_id: str) -> StoredDetermination:
    """Read a stored case, decide it in a case worker process, store the result (from a worker thread)."""
    triples = repository.load_case_triples(case_id)
    received_at = repository.case_received_at(case_id)
    prepared: PreparedDetermination = workers.process("determine_stored", triples, case_id, received_at)
    return repository.save_prepared(prepared)


def _determine_sent(
    workers: CaseWorkers, repository: Repository, body: bytes, fmt: str, limits: CaseLimits, received_at: dt.datetime
) -> StoredDetermination:
    """Parse, check and decide in a case worker process, then store (from a worker thread); nothing is
    stored unless it is decided."""
    prepared: PreparedDetermination = workers.process("determine_sent", body, fmt, limits, received_at)
    return repository.save_prepared(prepared)


@router.get(
    "/determinations/{determination_id}",
    summary="A stored determination (JSON, Turtle or JSON-LD)",
    responses={200: DETERMINATION_RESPONSES[201]},
)
def get_determination(
    determination_id: str, request: Request, repository: RepositoryDep, settings: SettingsDep, _: BearerDoc
) -> Response:
    """``Accept: text/html`` gives the determination viewer (a page without data when no token is sent)."""
    html = wants_html(request)
    if html and not has_credentials(request):
        return shell(request, "Determination")
    authenticate(request, settings, "read")
    stored = repository.get_determination(determination_id)
    if html:
        return determination_page(request, stored, repository.knowledge)
    return _respond(stored, repository, request.headers.get("accept"), 200)


@router.get(
    "/determinations/{determination_id}/report",
    summary="The SHACL validation report exactly as pySHACL produced it",
    responses=rdf_doc("The SHACL validation report"),
)
def get_report(determination_id: str, request: Request, repository: RepositoryDep, _: ReadAccess) -> Response:
    return rdf_response(repository.get_report(determination_id), request.headers.get("accept"))


DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def query_date(value: str | None, name: str) -> dt.date | None:
    """A YYYY-MM-DD query parameter as a date; 422 naming the parameter when it is not one."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ProblemError(422, "Invalid request", f"{name}: {value!r} is not a date (YYYY-MM-DD)") from exc


@router.get("/determinations", summary="Stored determinations, filtered and paginated, newest first")
def list_determinations(
    request: Request,
    repository: RepositoryDep,
    settings: SettingsDep,
    _: BearerDoc,
    outcome: Literal["approved", "denied", "pended", "excluded"] | None = None,
    guideline: Annotated[str | None, Query(pattern=r"^NIA_CG_[0-9]{3}$")] = None,
    procedure: Annotated[str | None, Query(pattern=r"^[0-9]{4}[0-9A-Z]$", description="CPT code")] = None,
    service_from: Annotated[str | None, Query(alias="from", pattern=DATE_PATTERN, description="service on or after")] = None,
    service_to: Annotated[str | None, Query(alias="to", pattern=DATE_PATTERN, description="service on or before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """``Accept: text/html`` gives the list page with the same filters (a page without data when no token is sent)."""
    html = wants_html(request)
    if html and not has_credentials(request):
        return shell(request, "Determinations")
    authenticate(request, settings, "read")
    limit = min(limit, settings.page_size_max)
    flt = DeterminationFilter(outcome, guideline, procedure, query_date(service_from, "from"), query_date(service_to, "to"))
    total, items = repository.list_determinations(flt, limit, offset, settings.query_timeout_seconds)
    page = [
        {
            "id": i["id"],
            "outcome": i["outcome"],
            "guideline": i["guideline"],
            "procedure": i["code"],
            "dateOfService": i["dos"],
            "determinedAt": i["at"],
            "links": {"self": f"/determinations/{i['id']}"},
        }
        for i in items
    ]
    result: dict[str, Any] = {"total": total, "limit": limit, "offset": offset, "items": page}
    if offset + limit < total:
        following = request.url.include_query_params(offset=offset + limit, limit=limit)
        result["next"] = f"{following.path}?{following.query}"
    if offset > 0:
        preceding = request.url.include_query_params(offset=max(offset - limit, 0), limit=limit)
        result_previous = f"{preceding.path}?{preceding.query}"
    else:
        result_previous = None
    if html:
        numbers = sorted(g.number for g in repository.knowledge.guidelines.values())
        return list_page(request, result, flt, result_previous, numbers)
    return result
