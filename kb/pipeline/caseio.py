"""Reading case files: Turtle, or JSON-LD with the project's own embedded context.

No network or file access ever happens here: JSON-LD contexts are resolved only by the loader of
``kb.pipeline.jsonld``, which knows the project context and nothing else, and ``owl:imports`` is
refused by the form checks. Relative IRIs are resolved against the case namespace, never against
a file or directory. The size limits of ``kb.pipeline.caselimits`` are checked before parsing (bytes,
nesting) and while parsing (triples), so no parser runs away with a large or deep input.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rdflib import Graph
from rdflib.exceptions import ParserError

from kb.errors import CaseSyntaxError
from kb.namespaces import CASE
from kb.pipeline import caselimits
from kb.pipeline.caselimits import DEFAULT_LIMITS, BoundedGraph, CaseLimits, TooManyTriplesError
from kb.pipeline.jsonld import embedded_context, to_graph

__all__ = [
    "JSONLD",
    "MAX_CASE_BYTES",
    "TURTLE",
    "CaseLimits",
    "embedded_context",
    "format_for_path",
    "parse_case",
    "read_case_file",
]

MAX_CASE_BYTES = DEFAULT_LIMITS.max_bytes
BASE_IRI = str(CASE)
"""Relative IRIs in a case resolve against this base (``<p1>`` is ``case:p1``)."""

TURTLE = "turtle"
JSONLD = "json-ld"

_SUFFIX_FORMATS = {".ttl": TURTLE, ".turtle": TURTLE, ".jsonld": JSONLD, ".json": JSONLD}
_LINE_RE = re.compile(r"at line (\d+)")
_BAD_SYNTAX_RE = re.compile(r"Bad syntax \((.*?)\) at \^", re.S)


def format_for_path(path: Path) -> str:
    fmt = _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CaseSyntaxError(str(path), f"unknown file type {path.suffix!r}: use .ttl (Turtle) or .jsonld (JSON-LD)")
    return fmt


def read_case_file(path: Path, limits: CaseLimits = DEFAULT_LIMITS) -> Graph:
    """Parse a case file, choosing the format by its suffix."""
    fmt = format_for_path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CaseSyntaxError(str(path), f"cannot read the file: {exc.strerror}") from exc
    if size > limits.max_bytes:
        raise CaseSyntaxError(str(path), f"the file is {size} bytes; the limit is {limits.max_bytes} bytes")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseSyntaxError(str(path), f"cannot read the file: {exc.strerror}") from exc
    return parse_case(data, fmt, str(path), limits=limits)


def parse_case(
    data: bytes | str,
    fmt: str,
    source: str = "<case>",
    max_bytes: int | None = None,
    limits: CaseLimits = DEFAULT_LIMITS,
) -> Graph:
    """Parse case data in the given format ("turtle" or "json-ld") into a new graph.

    ``max_bytes``, when given, overrides ``limits.max_bytes``.
    """
    if max_bytes is not None:
        limits = CaseLimits(max_bytes, limits.max_depth, limits.max_triples, limits.max_list_length)
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            problem = f"the case holds a lone surrogate (character {exc.start}); it is not Unicode text"
            raise CaseSyntaxError(source, problem) from None
    else:
        raw = data
    if len(raw) > limits.max_bytes:
        raise CaseSyntaxError(source, f"the case is {len(raw)} bytes; the limit is {limits.max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseSyntaxError(source, f"the case is not UTF-8 text (byte {exc.start})") from None
    if fmt == TURTLE:
        graph = _parse_turtle(text, source, limits)
    elif fmt == JSONLD:
        graph = _parse_jsonld(text, source, limits)
    else:
        raise CaseSyntaxError(source, f"unsupported format {fmt!r}: use turtle or json-ld")
    caselimits.check_lists(graph, limits, source)
    _check_unicode(graph, source)
    return graph


def _check_unicode(graph: Graph, source: str) -> None:
    """Escapes such as \\uD800 decode to lone surrogates, which are not Unicode text: refuse them."""
    for triple in graph:
        for term in triple:
            text = str(term) + (getattr(term, "language", None) or "")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                shown = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")[:80]
                raise CaseSyntaxError(source, f"{shown!r} holds a lone surrogate escape; it is not Unicode text") from None


def _parse_turtle(text: str, source: str, limits: CaseLimits) -> Graph:
    scan = caselimits.scan_turtle(text)
    caselimits.check_nesting(scan.depth, limits, source, "brackets ([ ] and ( ))")
    caselimits.check_terms(scan, limits, source)
    graph = BoundedGraph(limits.max_triples)
    try:
        graph.parse(data=text, format="turtle", publicID=BASE_IRI)
    except TooManyTriplesError:
        raise caselimits.too_many_triples(limits, source) from None
    except RecursionError:
        # The nesting scan bounds what the parser recurses on; this is the backstop if it is ever wrong.
        raise CaseSyntaxError(source, f"the case nests too deeply; the limit is {limits.max_depth}") from None
    except (SyntaxError, ParserError, ValueError, IndexError, TypeError, AttributeError, AssertionError) as exc:
        # rdflib's Turtle parser also fails with IndexError and others on some truncated input.
        message = str(exc).strip()
        match = _LINE_RE.search(message)
        line = int(match.group(1)) if match else getattr(exc, "lines", None)
        detail = _BAD_SYNTAX_RE.search(message)
        problem = detail.group(1) if detail else (message.splitlines()[-1] if message else type(exc).__name__)
        raise CaseSyntaxError(source, f"invalid Turtle: {problem}", line) from exc
    result = Graph()
    for prefix, namespace in graph.namespaces():
        result.bind(prefix, namespace, override=True, replace=True)
    for triple in graph:
        result.add(triple)
    return result


def _parse_jsonld(text: str, source: str, limits: CaseLimits) -> Graph:
    caselimits.check_nesting(caselimits.json_nesting(text), limits, source, "JSON objects and arrays")
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseSyntaxError(source, f"invalid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise CaseSyntaxError(source, f"the case nests too deeply; the limit is {limits.max_depth}") from None
    if not isinstance(document, dict | list):
        # A JSON-LD processor takes a string document for the IRI of a document to load.
        raise CaseSyntaxError(source, f"a JSON-LD case is a JSON object or array, not {type(document).__name__}")
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # JSON escapes such as \\ud800 decode to lone surrogates, which the JSON-LD processor cannot handle.
        problem = "the case holds a lone surrogate escape (\\ud800-\\udfff); it is not Unicode text"
        raise CaseSyntaxError(source, problem) from None
    values = caselimits.count_json_values(document)
    if values > 4 * limits.max_triples:
        raise caselimits.too_many_triples(limits, source)
    try:
        return to_graph(document, BASE_IRI, limits.max_triples, source)
    except RecursionError:
        raise CaseSyntaxError(source, f"the case nests too deeply; the limit is {limits.max_depth}") from None
