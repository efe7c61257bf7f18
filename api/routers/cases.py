"""POST /cases and GET /cases/{id}: cases stored as submitted, after their form is checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response

from api.bodies import case_limits, media_type, read_limited
from api.deps import ReadAccess, RepositoryDep, SettingsDep, WriteAccess
from api.negotiation import RDF_BODY_FORMATS, rdf_response
from api.openapi_docs import CASE_BODY, rdf_doc
from api.problems import ProblemError
from api.workers import CaseWorkers, CaseWorkersDep
from kb.casework import CheckedCase
from kb.pipeline.caseio import CaseLimits
from kb.repository import Repository

router = APIRouter(tags=["cases"])


@router.post(
    "/cases", status_code=201, summary="Store a case (Turtle or JSON-LD) after checking its form", openapi_extra=CASE_BODY
)
async def create_case(
    request: Request,
    response: Response,
    settings: SettingsDep,
    repository: RepositoryDep,
    workers: CaseWorkersDep,
    _: WriteAccess,
) -> dict[str, Any]:
    received_at = dt.datetime.now(dt.UTC)
    fmt = RDF_BODY_FORMATS.get(media_type(request))
    if fmt is None:
        raise ProblemError(415, "Unsupported media type", "send the case as text/turtle or application/ld+json")
    body = await read_limited(request, settings.max_body_bytes)
    case_id, request_node, guideline = await workers.run(
        _check_and_store, workers, body, fmt, case_limits(settings), repository, received_at
    )
    response.headers["Location"] = f"/cases/{case_id}"
    return {
        "id": case_id,
        "request": request_node,
        "guideline": guideline,
        "links": {"self": f"/cases/{case_id}"},
    }


def _check_and_store(
    workers: CaseWorkers, body: bytes, fmt: str, limits: CaseLimits, repository: Repository, received_at: dt.datetime
) -> tuple[str, str, str]:
    """Parse and check a case in a case worker process, then store it with its receipt time (from a worker
    thread); nothing is stored unless every check passes."""
    checked: CheckedCase = workers.process("check", body, fmt, limits)
    case_id = repository.save_case_triples(checked.triples, received_at=received_at)
    return case_id, checked.request, checked.guideline


@router.get(
    "/cases/{case_id}",
    summary="A stored case, as Turtle (default), JSON-LD or N-Triples",
    responses=rdf_doc("The case as submitted"),
)
def get_case(case_id: str, request: Request, repository: RepositoryDep, _: ReadAccess) -> Response:
    return rdf_response(repository.load_case(case_id), request.headers.get("accept"))
