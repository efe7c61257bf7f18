"""Reading request bodies with a size limit: larger bodies get 413 without being parsed."""

from __future__ import annotations

from fastapi import Request

from api.problems import ProblemError
from api.settings import Settings
from kb.pipeline.caselimits import CaseLimits


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, "Request body too large", f"the request body exceeds {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ProblemError(413, "Request body too large", f"the request body exceeds {limit} bytes")
    return bytes(body)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def case_limits(settings: Settings) -> CaseLimits:
    """The limits a case sent to the service must keep (see docs/api.md)."""
    return CaseLimits(
        max_bytes=settings.max_body_bytes,
        max_depth=settings.max_case_depth,
        max_triples=settings.max_case_triples,
        max_list_length=settings.max_case_list_length,
    )
