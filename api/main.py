"""FastAPI application: health, determinations of inline cases, guideline criteria."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from api import problems
from api.deps import KnowledgeDep, SettingsDep
from kb import __version__
from kb.caseio import JSONLD, TURTLE
from kb.engine import determine_text

MEDIA_FORMATS = {"text/turtle": TURTLE, "application/ld+json": JSONLD, "application/json": JSONLD}

app = FastAPI(
    title="Interventional pain guideline knowledge graph",
    version=__version__,
    description="Medical-necessity determinations for interventional pain procedures.",
)
problems.install(app)


@app.get("/health")
def health(knowledge: KnowledgeDep) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "criteria": len(knowledge.criteria)}


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise problems.BodyTooLargeError(limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise problems.BodyTooLargeError(limit)
    return bytes(body)


@app.post("/determinations")
async def create_determination(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """Determine an inline case sent as Turtle (text/turtle) or JSON-LD (application/ld+json)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = MEDIA_FORMATS.get(media_type)
    if fmt is None:
        raise problems.UnsupportedMediaTypeError(media_type)
    body = await _read_limited(request, settings.max_body_bytes)
    determination = await run_in_threadpool(determine_text, body, fmt, "request body", settings.max_body_bytes)
    return determination.as_json()


@app.get("/criteria/{criterion_id}")
def get_criterion(criterion_id: str, knowledge: KnowledgeDep) -> dict[str, Any]:
    criterion = knowledge.criteria_by_id.get(criterion_id)
    if criterion is None:
        raise problems.NotFoundError(f"no criterion {criterion_id!r}")
    return {
        "criterionId": criterion.id,
        "kind": criterion.kind,
        "guideline": criterion.guideline_number,
        "section": criterion.section_title,
        "text": criterion.text,
        "shape": str(criterion.shape),
        "severity": "violation" if criterion.is_deciding else "warning",
    }
