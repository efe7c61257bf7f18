"""Reading request bodies with a size limit: larger bodies get 413 without being parsed."""

from __future__ import annotations

from fastapi import Request

from api.problems import ProblemError


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
