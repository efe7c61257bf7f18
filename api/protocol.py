"""HTTP protocol hygiene: relative redirects, a path-length cap, HEAD on every GET route, no query strings in the access log.

- Redirects (Starlette's trailing-slash redirect, e.g. ``/guidelines/`` → ``/guidelines``) carry
  an absolute ``Location`` built from the request's ``Host`` header. ``ProtocolMiddleware`` makes
  every redirect's ``Location`` relative (path and query only), so a forged ``Host`` is never
  reflected; leading slashes are collapsed so a path like ``//evil.example/`` cannot become a
  protocol-relative redirect.
- A path longer than ``MAX_PATH_BYTES`` gets 414 before routing, so no handler sees (or echoes) it.
- FastAPI registers GET routes without HEAD; ``add_head_routes`` adds a HEAD route beside each (not
  in the OpenAPI document), answered like GET without the body.
- uvicorn's access log prints the request target with its query string, where clients may put
  PHI (``GET /determinations?procedure=...``, ``GET /sparql?query=...``);
  ``AccessLogWithoutQuery`` drops the query string from each access-log record.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi.routing import APIRoute, APIRouter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

MAX_PATH_BYTES = 2048
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def relative_location(location: str) -> str:
    """The path and query of a redirect target, with one leading slash."""
    parts = urlsplit(location)
    path = "/" + parts.path.lstrip("/")
    return f"{path}?{parts.query}" if parts.query else path


class ProtocolMiddleware:
    """Pure ASGI middleware: 414 for over-long paths, relative ``Location`` on redirects."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        if len(raw_path) > MAX_PATH_BYTES:
            response = problem(414, "URI too long", f"the request path exceeds {MAX_PATH_BYTES} bytes")
            await response(scope, receive, send)
            return

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REDIRECT_STATUSES:
                headers = [
                    (name, relative_location(value.decode("latin-1")).encode("latin-1") if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_relative)


def add_head_routes(router: APIRouter) -> APIRouter:
    """A HEAD route beside every GET route of the router (call before including it in the app).

    FastAPI's own documentation routes (``/docs``, ``/openapi.json``) already answer HEAD.
    """
    for route in list(router.routes):
        if isinstance(route, APIRoute) and route.methods and "GET" in route.methods:
            router.add_api_route(
                route.path,
                route.endpoint,
                methods=["HEAD"],
                include_in_schema=False,
                response_model=route.response_model,
                status_code=route.status_code,
                response_class=route.response_class,
                dependencies=route.dependencies,
                name=f"{route.name}.head",
            )
    return router


class AccessLogWithoutQuery(logging.Filter):
    """Rewrites uvicorn's access-log record so the request target has no query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install_access_log_filter() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogWithoutQuery) for f in logger.filters):
        logger.addFilter(AccessLogWithoutQuery())
