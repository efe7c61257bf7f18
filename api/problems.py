"""Domain errors mapped once to RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kb.errors import CaseFormError, CaseSyntaxError, UnsupportedRequestError

PROBLEM_JSON = "application/problem+json"


class BodyTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the request body exceeds {limit} bytes")


class UnsupportedMediaTypeError(Exception):
    def __init__(self, media_type: str) -> None:
        self.media_type = media_type
        super().__init__(f"unsupported Content-Type {media_type!r}: send text/turtle or application/ld+json")


class NotFoundError(Exception):
    pass


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(CaseSyntaxError)
    async def _syntax(_: Request, exc: CaseSyntaxError) -> JSONResponse:
        return problem(400, "Malformed case", str(exc), line=exc.line)

    @app.exception_handler(CaseFormError)
    async def _form(_: Request, exc: CaseFormError) -> JSONResponse:
        return problem(422, "Invalid case", "the case is not valid", problems=exc.problems)

    @app.exception_handler(UnsupportedRequestError)
    async def _unsupported(_: Request, exc: UnsupportedRequestError) -> JSONResponse:
        return problem(422, "Request cannot be reviewed", exc.problem)

    @app.exception_handler(BodyTooLargeError)
    async def _too_large(_: Request, exc: BodyTooLargeError) -> JSONResponse:
        return problem(413, "Request body too large", str(exc))

    @app.exception_handler(UnsupportedMediaTypeError)
    async def _media(_: Request, exc: UnsupportedMediaTypeError) -> JSONResponse:
        return problem(415, "Unsupported media type", str(exc))

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, "Not found", str(exc))
