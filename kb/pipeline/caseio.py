"""Reading case files: Turtle, or JSON-LD with the project's own embedded context.

No network access ever happens here: a JSON-LD document may only refer to the project's context by
its IRI (it is replaced by the embedded copy) or carry inline contexts; any other remote context,
``@import`` or ``owl:imports`` is refused.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import Graph
from rdflib.exceptions import ParserError

from kb import resources
from kb.errors import CaseSyntaxError
from kb.namespaces import JSONLD_CONTEXT_IRI

MAX_CASE_BYTES = 5 * 1024 * 1024

TURTLE = "turtle"
JSONLD = "json-ld"

_SUFFIX_FORMATS = {".ttl": TURTLE, ".turtle": TURTLE, ".jsonld": JSONLD, ".json": JSONLD}
_LINE_RE = re.compile(r"at line (\d+)")
_BAD_SYNTAX_RE = re.compile(r"Bad syntax \((.*?)\) at \^", re.S)


@lru_cache(maxsize=1)
def embedded_context() -> dict[str, Any]:
    """The project's JSON-LD context, as shipped in ontology/case-context.jsonld."""
    document = json.loads(resources.jsonld_context_file().read_text(encoding="utf-8"))
    context = document["@context"]
    assert isinstance(context, dict)
    return context


def format_for_path(path: Path) -> str:
    fmt = _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CaseSyntaxError(str(path), f"unknown file type {path.suffix!r}: use .ttl (Turtle) or .jsonld (JSON-LD)")
    return fmt


def read_case_file(path: Path) -> Graph:
    """Parse a case file, choosing the format by its suffix."""
    fmt = format_for_path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CaseSyntaxError(str(path), f"cannot read the file: {exc.strerror}") from exc
    if size > MAX_CASE_BYTES:
        raise CaseSyntaxError(str(path), f"the file is {size} bytes; the limit is {MAX_CASE_BYTES} bytes")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseSyntaxError(str(path), f"cannot read the file: {exc.strerror}") from exc
    return parse_case(data, fmt, str(path))


def parse_case(data: bytes | str, fmt: str, source: str = "<case>", max_bytes: int = MAX_CASE_BYTES) -> Graph:
    """Parse case data in the given format ("turtle" or "json-ld") into a new graph."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise CaseSyntaxError(source, f"the case is {len(raw)} bytes; the limit is {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseSyntaxError(source, f"the case is not UTF-8 text (byte {exc.start})") from exc
    if fmt == TURTLE:
        return _parse_turtle(text, source)
    if fmt == JSONLD:
        return _parse_jsonld(text, source)
    raise CaseSyntaxError(source, f"unsupported format {fmt!r}: use turtle or json-ld")


def _parse_turtle(text: str, source: str) -> Graph:
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
    except (SyntaxError, ParserError, ValueError, IndexError, TypeError, AttributeError, AssertionError) as exc:
        # rdflib's Turtle parser also fails with IndexError and others on some truncated input.
        message = str(exc).strip()
        match = _LINE_RE.search(message)
        line = int(match.group(1)) if match else getattr(exc, "lines", None)
        detail = _BAD_SYNTAX_RE.search(message)
        problem = detail.group(1) if detail else (message.splitlines()[-1] if message else type(exc).__name__)
        raise CaseSyntaxError(source, f"invalid Turtle: {problem}", line) from exc
    return graph


def _parse_jsonld(text: str, source: str) -> Graph:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseSyntaxError(source, f"invalid JSON: {exc.msg}", exc.lineno) from exc
    resolved = _resolve_contexts(document, source)
    graph = Graph()
    try:
        graph.parse(data=json.dumps(resolved), format="json-ld")
    except Exception as exc:  # the JSON-LD processor raises many unrelated types
        raise CaseSyntaxError(source, f"invalid JSON-LD: {exc}") from exc
    return graph


def _resolve_contexts(node: Any, source: str) -> Any:
    """Replace the project context IRI by its embedded copy; refuse every other remote context."""
    if isinstance(node, list):
        return [_resolve_contexts(item, source) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@context":
            result[key] = _resolve_context_value(value, source)
        else:
            result[key] = _resolve_contexts(value, source)
    return result


def _resolve_context_value(value: Any, source: str) -> Any:
    if isinstance(value, list):
        return [_resolve_context_value(item, source) for item in value]
    if isinstance(value, str):
        if value == JSONLD_CONTEXT_IRI:
            return embedded_context()
        raise CaseSyntaxError(
            source,
            f"remote JSON-LD context {value!r} is not fetched; use {JSONLD_CONTEXT_IRI!r} "
            "(the project's embedded context) or an inline context",
        )
    if isinstance(value, dict):
        if "@import" in value:
            raise CaseSyntaxError(source, "JSON-LD @import is not allowed in a case context")
        for term, definition in value.items():
            if isinstance(definition, dict) and "@context" in definition:
                definition["@context"] = _resolve_context_value(definition["@context"], source)
            if term == "@base" and isinstance(definition, str) and not definition:
                continue
        return value
    if value is None:
        return value
    raise CaseSyntaxError(source, f"a JSON-LD @context must be an object, a list or {JSONLD_CONTEXT_IRI!r}")
