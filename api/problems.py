"""Domain errors mapped once to RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import CaseFormError, CaseSyntaxError, UnsupportedRequestError
from kb.repository import UnknownIdError
from kb.store.base import QueryRefusedError, QuerySyntaxError, QueryTimeoutError, RowCapExceededError, StoreError

PROBLEM_JSON = "application/problem+json"
SHOWN_CHARACTERS = 64


def shown(value: str, limit: int = SHOWN_CHARACTERS) -> str:
    """A client-supplied value for a problem detail: quoted, and cut at ``limit`` characters."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"


class ProblemError(Exception):
    """An error answered as a problem document with the given status."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
        super().__init__(detail)


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(CaseSyntaxError)
    async def _syntax(_: Request, exc: CaseSyntaxError) -> JSONResponse:
        return problem(400, "Malformed case", str(exc), line=exc.line)

    @app.exception_handler(CaseFormError)
    async def _form(_: Request, exc: CaseFormError) -> JSONResponse:
        return problem(422, "Invalid case", "; ".join(exc.problems), problems=exc.problems)

    @app.exception_handler(UnsupportedRequestError)
    async def _unsupported(_: Request, exc: UnsupportedRequestError) -> JSONResponse:
        return problem(422, "Request cannot be reviewed", exc.problem)

    @app.exception_handler(UnknownIdError)
    async def _unknown(_: Request, exc: UnknownIdError) -> JSONResponse:
        return problem(404, "Not found", str(exc))

    @app.exception_handler(QueryRefusedError)
    async def _refused(_: Request, exc: QueryRefusedError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail)

    @app.exception_handler(QuerySyntaxError)
    async def _query_syntax(_: Request, exc: QuerySyntaxError) -> JSONResponse:
        return problem(400, "Malformed query", str(exc))

    @app.exception_handler(QueryTimeoutError)
    async def _timeout(_: Request, exc: QueryTimeoutError) -> JSONResponse:
        return problem(503, "Query time limit exceeded", str(exc), headers={"Retry-After": "1"})

    @app.exception_handler(RowCapExceededError)
    async def _row_cap(_: Request, exc: RowCapExceededError) -> JSONResponse:
        return problem(422, "Result too large", f"{exc}; narrow the query or add LIMIT (no partial answer is given)")

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return problem(503, "Store unavailable", str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return problem(422, "Invalid request", "; ".join(errors), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(app, request.url.path))
        return problem(exc.status_code, str(exc.detail), str(exc.detail), headers=headers or None)


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the OpenAPI document lists for the path (Starlette reports only one route's)."""
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods |= {method.upper() for method in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
