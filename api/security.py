"""Bearer-token authentication with read and write scopes, and the audit trail.

Every request gets a correlation id (taken from X-Correlation-ID when the client sends a sane
one) and exactly one audit record: when, who (the token's name, never the token), what (method
and route), the status and whether access was allowed. Records hold no request bodies, no query
strings and no case content, so no PHI reaches the audit log.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import Request, Response
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp

from api.problems import ProblemError, problem
from api.settings import Settings, TokenGrant

CORRELATION_HEADER = "X-Correlation-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def authenticate(request: Request, settings: Settings, scope: str) -> TokenGrant:
    """The grant of the request's bearer token; 401 without a valid token, 403 without the scope."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="ipkg"'}
    if scheme.lower() != "bearer" or not token.strip():
        request.state.audit_principal = "anonymous"
        raise ProblemError(401, "Unauthorized", "a bearer token is required (Authorization: Bearer <token>)", challenge)
    grant = None
    for known, candidate in settings.tokens.items():
        if hmac.compare_digest(known.encode(), token.strip().encode()):
            grant = candidate
    if grant is None:
        request.state.audit_principal = "unknown-token"
        raise ProblemError(401, "Unauthorized", "the bearer token is not valid", challenge)
    request.state.audit_principal = grant.name
    if scope not in grant.scopes:
        raise ProblemError(403, "Forbidden", f"the token of {grant.name!r} lacks the {scope!r} scope")
    return grant


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, record: dict[str, object]) -> None:
        line = json.dumps(record, ensure_ascii=False, sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class AuditMiddleware(BaseHTTPMiddleware):
    """Correlation id and one audit record per request, denied ones included."""

    def __init__(self, app: ASGIApp, audit: Callable[[], AuditLog | None]) -> None:
        super().__init__(app)
        self._audit = audit

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        offered = request.headers.get(CORRELATION_HEADER, "")
        correlation = offered if _SANE_ID.match(offered) else uuid.uuid4().hex
        request.state.correlation_id = correlation
        started = dt.datetime.now(dt.UTC)
        try:
            response = await call_next(request)
        except Exception:
            response = problem(500, "Internal error", f"an unexpected error occurred (correlation id {correlation})")
        response.headers[CORRELATION_HEADER] = correlation
        route = request.scope.get("route")
        audit = self._audit()
        if audit is not None:
            audit.write(
                {
                    "at": started.isoformat(timespec="milliseconds"),
                    "correlationId": correlation,
                    "principal": getattr(request.state, "audit_principal", "anonymous"),
                    "method": request.method,
                    "route": getattr(route, "path", "<unmatched>"),
                    "status": response.status_code,
                    "outcome": "denied"
                    if response.status_code in (401, 403)
                    else "error"
                    if response.status_code >= 400
                    else "allowed",
                }
            )
        return response
