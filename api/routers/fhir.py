"""FHIR R4 prior authorization (Da Vinci PAS): Claim/$submit, Claim/$inquiry and the CapabilityStatement.

Bundles are read, mapped, determined and stored on the case worker pool, never on the event loop;
the determination is stored exactly as ``POST /determinations`` stores it. A refused bundle is
answered with an OperationOutcome naming the element (FHIRPath) and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.bodies import media_type, read_limited
from api.deps import ReadAccess, RepositoryDep, SettingsDep, WriteAccess
from api.problems import ProblemError
from api.workers import CaseWorkers, CaseWorkersDep
from kb.fhir import service
from kb.fhir.outcome import BundleError, Issue, operation_outcome
from kb.fhir.tables import DATA_DIR
from kb.repository import Repository

router = APIRouter(tags=["fhir"])
FHIR_JSON = "application/fhir+json"
ACCEPTED_BODY_TYPES = (FHIR_JSON, "application/json")
BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "content": {FHIR_JSON: {"schema": {"type": "object", "description": "A PAS Request Bundle (FHIR R4 JSON)"}}},
    }
}
FHIR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A PAS Response Bundle", "content": {FHIR_JSON: {}}},
    400: {"description": "Not JSON (OperationOutcome)", "content": {FHIR_JSON: {}}},
    413: {"description": "The bundle is over the size limit (OperationOutcome)", "content": {FHIR_JSON: {}}},
    415: {"description": "Not application/fhir+json (OperationOutcome)", "content": {FHIR_JSON: {}}},
    422: {"description": "The bundle is refused (OperationOutcome, FHIRPath of each problem)", "content": {FHIR_JSON: {}}},
}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def _outcome(error: BundleError) -> FhirResponse:
    return FhirResponse(operation_outcome(error.issues), status_code=error.status)


async def _bundle_body(request: Request, limit: int) -> bytes:
    """The body, as FHIR JSON within the size limit; BundleError otherwise."""
    kind = media_type(request)
    if kind not in ACCEPTED_BODY_TYPES:
        raise BundleError(415, [Issue("not-supported", "Bundle", f"send the bundle as {FHIR_JSON}, not {kind or 'no type'!r}")])
    try:
        return await read_limited(request, limit)
    except ProblemError as exc:
        raise BundleError(exc.status, [Issue("too-costly", "Bundle", exc.detail)]) from None


@router.post(
    "/fhir/Claim/$submit",
    summary="Decide a PAS Request Bundle (FHIR R4); answers a PAS Response Bundle",
    openapi_extra=BUNDLE_BODY,
    response_class=FhirResponse,
    responses=FHIR_RESPONSES,
)
async def submit(
    request: Request, settings: SettingsDep, repository: RepositoryDep, workers: CaseWorkersDep, _: WriteAccess
) -> FhirResponse:
    received_at = dt.datetime.now(dt.UTC)
    try:
        body = await _bundle_body(request, settings.max_body_bytes)
        answer = await workers.run(
            _submit, workers, repository, body, settings.max_case_depth, settings.max_case_triples, received_at
        )
    except BundleError as error:
        return _outcome(error)
    return FhirResponse(answer)


@router.post(
    "/fhir/Claim/$inquiry",
    summary="The stored decision of a Claim identifier (PAS Inquiry Request Bundle in, PAS Response Bundle out)",
    openapi_extra=BUNDLE_BODY,
    response_class=FhirResponse,
    responses={**FHIR_RESPONSES, 404: {"description": "No decision for this Claim identifier", "content": {FHIR_JSON: {}}}},
)
async def inquiry(
    request: Request, settings: SettingsDep, repository: RepositoryDep, workers: CaseWorkersDep, _: ReadAccess
) -> FhirResponse:
    try:
        body = await _bundle_body(request, settings.max_body_bytes)
        answer = await workers.run(
            service.inquire, repository, body, settings.max_case_depth, settings.query_timeout_seconds
        )
    except BundleError as error:
        return _outcome(error)
    return FhirResponse(answer)


def _submit(
    workers: CaseWorkers,
    repository: Repository,
    body: bytes,
    max_depth: int,
    max_triples: int,
    received_at: dt.datetime,
) -> dict[str, Any]:
    """Read, map and decide the bundle in a case worker process, then store it (from a worker thread)."""
    decided: service.DecidedBundle = workers.process("fhir_submit", body, max_depth, max_triples, received_at)
    return service.save_decided(repository, decided)


@lru_cache(maxsize=1)
def _capability_statement() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA_DIR / "capability-statement.json").read_text(encoding="utf-8"))
    return loaded


@router.get(
    "/fhir/metadata",
    summary="The CapabilityStatement: what this FHIR interface supports",
    response_class=FhirResponse,
    responses={200: {"description": "The CapabilityStatement", "content": {FHIR_JSON: {}}}},
)
def metadata() -> FhirResponse:
    return FhirResponse(_capability_statement())
