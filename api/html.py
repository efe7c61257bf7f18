"""HTML pages: server-side Jinja2 templates (autoescaped), when a browser asks for them, with a strict CSP.

A browser's navigation cannot carry a bearer token, so a page whose content needs one is first
served as a *shell* holding no data: the layout, a form asking for the token, and
``/static/pages.js``, which keeps the token in ``sessionStorage`` (for the tab's life, never in a
URL or a cookie) and fetches the same URL again with ``Authorization: Bearer`` and
``Accept: text/html``; that request is answered with the whole page, rendered on the server, and
the script puts its ``<main>`` in place. The script is a file of the service: the pages hold no
inline script, and the Content-Security-Policy allows scripts, styles, connections and images from
the service only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kb import __version__

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
HTML_TYPES = ("text/html", "application/xhtml+xml")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Vary": "Accept, Authorization",
}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["version"] = __version__


def _accept_entries(accept: str) -> list[tuple[str, float]]:
    entries = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        quality = 1.0
        for field in fields[1:]:
            if field.startswith("q="):
                try:
                    quality = float(field[2:])
                except ValueError:
                    quality = 0.0
        entries.append((fields[0].lower(), quality))
    return entries


def wants_html(request: Request) -> bool:
    """Whether the client names HTML in Accept and prefers it to every other type it names.

    Wildcards do not count: ``*/*`` (curl, most libraries) never selects a page, and neither do
    SPARQLWrapper's or rdflib's Accept headers, which name result or RDF types only.
    """
    entries = _accept_entries(request.headers.get("accept", ""))
    html = max((q for media, q in entries if media in HTML_TYPES), default=0.0)
    others = max((q for media, q in entries if media not in HTML_TYPES and "*" not in media), default=0.0)
    return html > 0 and html >= others


def has_credentials(request: Request) -> bool:
    return bool(request.headers.get("authorization"))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from a template, with the pages' security headers."""
    body = environment.get_template(template).render(request_path=request.url.path, **context)
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def shell(request: Request, title: str) -> HTMLResponse:
    """The page without its data: the layout and the token form; pages.js fetches the content."""
    return render(request, "shell.html", title=title)
