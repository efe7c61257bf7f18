"""FHIR Questionnaires of the pathways, a pend's questionnaire of missing items, responses to it, and
the counterfactuals of a determination. The case work (deciding a stored pend again, reading and merging
a response, deciding the new revision, searching counterfactuals) runs in the case worker processes,
never on the event loop or in the service's own process; the store is read and written on a case-worker
thread around it."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.bodies import media_type, read_limited
from api.deps import KnowledgeDep, ReadAccess, RepositoryDep, SettingsDep, WriteAccess
from api.openapi_docs import PROBLEM_SCHEMA
from api.problems import ProblemError
from api.workers import CaseWorkers, CaseWorkersDep
from kb.knowledge import Knowledge
from kb.pipeline.caselimits import json_nesting
from kb.questionnaire.fhir import pathway_questionnaires
from kb.questionnaire.revisions import (
    NotPendedError,
    QuestionnaireResponseError,
    Refusal,
    answer,
    counterfactuals,
    questionnaire,
)
from kb.repository import PreparedDetermination, Repository, StoredDetermination
from kb.store.base import Triple

router = APIRouter(tags=["questionnaires"])
FHIR_JSON = "application/fhir+json"
RESPONSE_TYPES = ("application/fhir+json", "application/json")
MAX_RESPONSE_NESTING = 16
FHIR_OBJECT: dict[str, Any] = {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}
NO_QUESTIONNAIRE: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The determination is not pended for missing documentation",
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
    }
}
RESPONSE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A FHIR R4 QuestionnaireResponse to the determination's questionnaire",
        "content": {t: {"schema": {"type": "object"}} for t in ("application/fhir+json", "application/json")},
    }
}


class FhirJSONResponse(JSONResponse):
    media_type = FHIR_JSON


@lru_cache(maxsize=1)
def _questionnaires(knowledge: Knowledge) -> dict[str, dict[str, Any]]:
    return {resource["id"]: resource for resource in pathway_questionnaires(knowledge).values()}


def _guideline_of(resource: dict[str, Any]) -> str:
    return "_".join(str(resource["id"]).split("-")[:3]).upper()


@router.get(
    "/fhir/Questionnaire",
    summary="The FHIR R4 Questionnaires of the pathways, as a searchset Bundle",
    response_class=FhirJSONResponse,
    responses={200: {"description": "A searchset Bundle", **FHIR_OBJECT}},
)
async def search_questionnaires(
    knowledge: KnowledgeDep,
    _: ReadAccess,
    guideline: Annotated[str | None, Query(pattern=r"^NIA_CG_[0-9]{3}$", description="guideline number")] = None,
) -> JSONResponse:
    found = await run_in_threadpool(_questionnaires, knowledge)
    chosen = [r for r in found.values() if guideline is None or _guideline_of(r) == guideline]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(chosen),
        "entry": [{"fullUrl": r["url"], "resource": r, "search": {"mode": "match"}} for r in chosen],
    }
    return FhirJSONResponse(bundle)


@router.get(
    "/fhir/Questionnaire/{questionnaire_id}",
    summary="One pathway's FHIR R4 Questionnaire",
    response_class=FhirJSONResponse,
    responses={200: {"description": "A Questionnaire", **FHIR_OBJECT}},
)
async def read_questionnaire(questionnaire_id: str, knowledge: KnowledgeDep, _: ReadAccess) -> JSONResponse:
    found = await run_in_threadpool(_questionnaires, knowledge)
    if questionnaire_id not in found:
        raise ProblemError(404, "Not found", "no questionnaire with this id (see GET /fhir/Questionnaire)")
    return FhirJSONResponse(found[questionnaire_id])


def _questionnaire(workers: CaseWorkers, repository: Repository, det_id: str) -> dict[str, Any]:
    """Read the stored pend, compute its questionnaire in a case worker process (from a worker thread)."""

    def compute(triples: list[Triple], case_id: str, det: str) -> dict[str, Any] | Refusal:
        found: dict[str, Any] | Refusal = workers.process("questionnaire", triples, case_id, det)
        return found

    try:
        return questionnaire(repository, det_id, compute)
    except NotPendedError as exc:
        raise ProblemError(409, "No questionnaire", str(exc)) from None


@router.get(
    "/determinations/{determination_id}/questionnaire",
    summary="The FHIR Questionnaire of a pended determination's missing items",
    response_class=FhirJSONResponse,
    responses={200: {"description": "A Questionnaire", **FHIR_OBJECT}, **NO_QUESTIONNAIRE},
)
async def determination_questionnaire(
    determination_id: str, repository: RepositoryDep, workers: CaseWorkersDep, _: ReadAccess
) -> JSONResponse:
    resource = await workers.run(_questionnaire, workers, repository, determination_id)
    return FhirJSONResponse(resource)


def _answer(workers: CaseWorkers, repository: Repository, det_id: str, body: bytes, agent: str) -> StoredDetermination:
    """Read the response, merge and decide it in a case worker process, store the new revision (from a
    worker thread)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(400, "Malformed JSON", f"the body is not UTF-8 text (byte {exc.start})") from None
    depth = json_nesting(text)
    if depth > MAX_RESPONSE_NESTING:
        raise ProblemError(400, "Malformed JSON", f"the response nests {depth} deep (at most {MAX_RESPONSE_NESTING})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemError(400, "Malformed JSON", f"invalid JSON: {exc}") from None

    def compute(
        triples: list[Triple], case_id: str, det: str, response: Any, who: str, received: dt.datetime
    ) -> PreparedDetermination | Refusal:
        found: PreparedDetermination | Refusal = workers.process(
            "answer_questionnaire", triples, case_id, det, response, who, received
        )
        return found

    try:
        return answer(repository, det_id, data, agent, compute)
    except NotPendedError as exc:
        raise ProblemError(409, "No questionnaire", str(exc)) from None
    except QuestionnaireResponseError as exc:
        raise ProblemError(422, "Invalid questionnaire response", str(exc)) from None


@router.post(
    "/determinations/{determination_id}/questionnaire-response",
    status_code=201,
    summary="Answer a pend's questionnaire: merged into a new revision of the case, which is decided again",
    openapi_extra=RESPONSE_BODY,
    responses=NO_QUESTIONNAIRE,
)
async def post_questionnaire_response(
    determination_id: str,
    request: Request,
    settings: SettingsDep,
    repository: RepositoryDep,
    workers: CaseWorkersDep,
    grant: WriteAccess,
) -> Response:
    if media_type(request) not in RESPONSE_TYPES:
        raise ProblemError(415, "Unsupported media type", "send the QuestionnaireResponse as application/fhir+json")
    body = await read_limited(request, settings.questionnaire_response_max_bytes)
    stored = await workers.run(_answer, workers, repository, determination_id, body, grant.name)
    return JSONResponse(stored.machine_form, status_code=201, headers={"Location": f"/determinations/{stored.id}"})


@router.get(
    "/determinations/{determination_id}/counterfactuals",
    summary="What would approve a denied or pended request: verified changes, or why there are none",
)
async def determination_counterfactuals(
    determination_id: str, settings: SettingsDep, repository: RepositoryDep, workers: CaseWorkersDep, _: ReadAccess
) -> dict[str, Any]:
    found = await workers.run(
        _counterfactuals,
        workers,
        repository,
        determination_id,
        settings.counterfactual_evaluations,
        settings.counterfactual_seconds,
    )
    return found


def _counterfactuals(
    workers: CaseWorkers, repository: Repository, det_id: str, evaluations: int, seconds: float
) -> dict[str, Any]:
    """Read the stored case, search its counterfactuals in a case worker process, store them (from a
    worker thread)."""

    def compute(triples: list[Triple], case_id: str, det: str, most: int, limit: float) -> tuple[list[Triple], dict[str, Any]]:
        found: tuple[list[Triple], dict[str, Any]] = workers.process("counterfactuals", triples, case_id, det, most, limit)
        return found

    return counterfactuals(repository, det_id, evaluations, seconds, compute)
