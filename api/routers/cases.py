"""POST /cases and GET /cases/{id}: cases stored as submitted, after their form is checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from rdflib import Graph

from api.bodies import case_limits, media_type, read_limited
from api.deps import KnowledgeDep, ReadAccess, RepositoryDep, SettingsDep, WriteAccess
from api.negotiation import RDF_BODY_FORMATS, rdf_response
from api.openapi_docs import CASE_BODY, rdf_doc
from api.problems import ProblemError
from api.workers import CaseWorkersDep
from kb.knowledge import Knowledge
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import CaseLimits, parse_case
from kb.pipeline.enrichment import select_guideline
from kb.repository import Repository

router = APIRouter(tags=["cases"])


@router.post(
    "/cases", status_code=201, summary="Store a case (Turtle or JSON-LD) after checking its form", openapi_extra=CASE_BODY
)
async def create_case(
    request: Request,
    response: Response,
    settings: SettingsDep,
    knowledge: KnowledgeDep,
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
        _check_and_store, body, fmt, case_limits(settings), knowledge, repository, received_at
    )
    response.headers["Location"] = f"/cases/{case_id}"
    return {
        "id": case_id,
        "request": request_node,
        "guideline": guideline,
        "links": {"self": f"/cases/{case_id}"},
    }


def _check_and_store(
    body: bytes, fmt: str, limits: CaseLimits, knowledge: Knowledge, repository: Repository, received_at: dt.datetime
) -> tuple[str, str, str]:
    """Parse, check and store a case (on a worker thread); nothing is stored unless every check passes."""
    case = parse_case(body, fmt, "request body", limits=limits)
    original = Graph()
    for triple in case:
        original.add(triple)
    request_node = check_case_form(case, knowledge, "request body")
    guideline = select_guideline(case, request_node, knowledge, "request body")
    case_id = repository.save_case(original, received_at=received_at)
    return case_id, str(request_node), guideline.number


@router.get(
    "/cases/{case_id}",
    summary="A stored case, as Turtle (default), JSON-LD or N-Triples",
    responses=rdf_doc("The case as submitted"),
)
def get_case(case_id: str, request: Request, repository: RepositoryDep, _: ReadAccess) -> Response:
    return rdf_response(repository.load_case(case_id), request.headers.get("accept"))
