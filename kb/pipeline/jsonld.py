"""JSON-LD case documents to RDF, with a document loader that knows exactly one context.

The JSON-LD processor (PyLD) resolves every context it meets, at every level (the document's
``@context``, contexts inside a context list, ``@import``, scoped contexts on terms and types),
through the document loader it is given. The loader here answers the project context IRI with the
embedded copy of ``ontology/case-context.jsonld`` and refuses every other IRI without opening or
fetching anything; so no other context is ever read, by construction.
"""

from __future__ import annotations

import copy
import json
import threading
from functools import lru_cache
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver
from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb import resources
from kb.errors import CaseSyntaxError
from kb.namespaces import JSONLD_CONTEXT_IRI


class RefusedContextError(Exception):
    """A context IRI other than the project's was asked for."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(url)


@lru_cache(maxsize=1)
def _embedded_document() -> dict[str, Any]:
    document = json.loads(resources.jsonld_context_file().read_text(encoding="utf-8"))
    assert isinstance(document, dict) and isinstance(document.get("@context"), dict)
    return document


def embedded_context() -> dict[str, Any]:
    """The project's JSON-LD context, as shipped in ontology/case-context.jsonld (a fresh copy)."""
    context = copy.deepcopy(_embedded_document()["@context"])
    assert isinstance(context, dict)
    return context


def load_document(url: str, _options: object = None) -> dict[str, Any]:
    """The only document loader the JSON-LD processor is given."""
    if url == JSONLD_CONTEXT_IRI:
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(_embedded_document())}
    raise RefusedContextError(url)


_resolvers = threading.local()


def _context_resolver() -> ContextResolver:
    """One resolver (and context cache) per thread, holding only contexts this loader resolved."""
    resolver = getattr(_resolvers, "resolver", None)
    if resolver is None:
        resolver = ContextResolver({}, load_document)
        _resolvers.resolver = resolver
    return resolver


def _refused(exc: BaseException) -> RefusedContextError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RefusedContextError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _problem(exc: jsonld.JsonLdError) -> str:
    """The innermost JSON-LD error's code and message (never a Python repr of the whole chain)."""
    inner: BaseException = exc
    cause = exc.__cause__
    while isinstance(cause, jsonld.JsonLdError):
        inner = cause
        cause = cause.__cause__
    code = getattr(inner, "code", None)
    message = inner.args[0] if inner.args else type(inner).__name__
    return f"{code}: {message}" if code else str(message)


def to_graph(document: Any, base: str, max_triples: int, source: str) -> Graph:
    """The RDF graph of a parsed JSON document; CaseSyntaxError for anything that is not a case graph."""
    options: dict[str, Any] = {
        "base": base,
        "documentLoader": load_document,
        "contextResolver": _context_resolver(),
        "processingMode": "json-ld-1.1",
    }
    if not isinstance(document, dict | list):
        raise CaseSyntaxError(source, "a JSON-LD case is a JSON object or array")
    try:
        dataset = jsonld.to_rdf(document, options)
    except (jsonld.JsonLdError, RefusedContextError) as exc:
        refused = _refused(exc)
        if refused is not None:
            raise CaseSyntaxError(
                source,
                f"JSON-LD context {refused.url!r} is not fetched or opened: only {JSONLD_CONTEXT_IRI!r} (the project's "
                "embedded context) and inline contexts are accepted",
            ) from None
        assert isinstance(exc, jsonld.JsonLdError)
        raise CaseSyntaxError(source, f"invalid JSON-LD: {_problem(exc)}") from None
    named = sorted(name for name, triples in dataset.items() if name != "@default" and triples)
    if named:
        raise CaseSyntaxError(source, f"a case is one graph; named graphs are not accepted ({named[0]})")
    triples = dataset.get("@default", [])
    if len(triples) > max_triples:
        raise CaseSyntaxError(source, f"the case holds more than {max_triples} triples; that is the limit")
    graph = Graph()
    blanks: dict[str, BNode] = {}
    for triple in triples:
        graph.add((_term(triple["subject"], blanks), _term(triple["predicate"], blanks), _term(triple["object"], blanks)))
    return graph


def _term(term: dict[str, Any], blanks: dict[str, BNode]) -> Node:
    kind = term["type"]
    value = term["value"]
    if kind == "IRI":
        return URIRef(value)
    if kind == "blank node":
        # Fresh blank nodes: labels such as _:b0 must not meet another case's in the store.
        return blanks.setdefault(value, BNode())
    datatype = term.get("datatype")
    if datatype == str(RDF.langString) or term.get("language"):
        return Literal(value, lang=term.get("language"))
    if datatype is None or datatype == str(XSD.string):
        return Literal(value)  # a simple literal, as the Turtle parser reads "text"
    return Literal(value, datatype=URIRef(datatype))
