"""Case inputs of a batch, and their parsing.

Turtle (and N-Triples, its subset) is parsed by Oxigraph, which is several times faster than
rdflib's parser, after the same limit checks as ``kb.pipeline.caseio`` (size, UTF-8, bracket
nesting, term count); a text Oxigraph refuses is handed to ``caseio.parse_case`` so that the error
a malformed case gets is the one the single-request path gives, and so is a case with blank nodes
(the engine breaks ties by node labels, and rdflib's labels follow the document order). JSON-LD goes through
``caseio.parse_case`` (PyLD with the embedded context). Cases read from an N-Quads stream or from
the store arrive as triples and pass the same triple, list and Unicode checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.batch.casegraph import CaseGraph
from kb.errors import CaseSyntaxError
from kb.pipeline import caselimits
from kb.pipeline.caseio import BASE_IRI, JSONLD, TURTLE, _check_unicode, parse_case
from kb.pipeline.caselimits import DEFAULT_LIMITS, CaseLimits
from kb.terms import shared_iri, shared_literal

TRIPLES = "triples"
NQUADS = "nquads"  # the statements of one case from an N-Quads stream (kb.batch.sources)
FAILED = "failed"  # an input that could not be read; its data is the reason
_XSD_STRING = str(XSD.string)

OxTriple = tuple[object, object, object]


@dataclass(frozen=True)
class CaseInput:
    """One case of a batch: its source name, and either its text and format or its triples."""

    source: str
    fmt: str
    data: bytes | str | None = None
    triples: Sequence[OxTriple] | None = None
    line: int = 0  # where the case starts in its stream (N-Quads), for error messages


def rdflib_term(term: object, bnodes: dict[str, BNode]) -> Node:
    """An Oxigraph term as the rdflib term rdflib's own parser makes (IRIs and literals shared: kb.terms)."""
    if isinstance(term, ox.NamedNode):
        return shared_iri(term.value)
    if isinstance(term, ox.BlankNode):
        node = bnodes.get(term.value)
        if node is None:
            node = bnodes[term.value] = BNode(term.value)  # the label of the stream, so ties break the same way each run
        return node
    if isinstance(term, ox.Literal):
        lexical, language = term.value, term.language
        if language:
            return shared_literal(("parsed", "@", lexical, language), lambda: Literal(lexical, lang=language))
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return shared_literal(("parsed", "", lexical), lambda: Literal(lexical))
        return shared_literal(("parsed", "^", lexical, datatype), lambda: Literal(lexical, datatype=URIRef(datatype)))
    raise TypeError(f"unexpected term {term!r}")


def graph_of(triples: Sequence[OxTriple], source: str, limits: CaseLimits = DEFAULT_LIMITS) -> Graph:
    """A case graph from Oxigraph triples, with the limits the parsers apply."""
    if len(triples) > limits.max_triples:
        raise caselimits.too_many_triples(limits, source)
    graph = CaseGraph()
    bnodes: dict[str, BNode] = {}
    graph.add_all([(rdflib_term(s, bnodes), rdflib_term(p, bnodes), rdflib_term(o, bnodes)) for s, p, o in triples])
    caselimits.check_lists(graph, limits, source)
    _check_unicode(graph, source)
    return graph


def _turtle(data: bytes | str, source: str, limits: CaseLimits) -> Graph:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > limits.max_bytes:
        return parse_case(data, TURTLE, source, limits=limits)  # the reference refuses it, with its message
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return parse_case(data, TURTLE, source, limits=limits)
    scan = caselimits.scan_turtle(text)
    caselimits.check_nesting(scan.depth, limits, source, "brackets ([ ] and ( ))")
    caselimits.check_terms(scan, limits, source)
    try:
        triples = [(q.subject, q.predicate, q.object) for q in ox.parse(raw, ox.RdfFormat.TURTLE, base_iri=BASE_IRI)]
    except (SyntaxError, ValueError, OSError):
        return parse_case(data, TURTLE, source, limits=limits)
    if any(isinstance(t, ox.BlankNode) for triple in triples for t in triple):
        # The engine breaks ties between otherwise equal nodes by their labels (kb.pipeline.enrichment),
        # and rdflib labels blank nodes in document order: such a case is parsed by rdflib, as today.
        return parse_case(data, TURTLE, source, limits=limits)
    return graph_of(triples, source, limits)


def _prepared(graph: Graph) -> Graph:
    if isinstance(graph, CaseGraph):
        return graph
    prepared = CaseGraph()
    for prefix, namespace in graph.namespaces():
        prepared.bind(prefix, namespace, override=True, replace=True)
    for triple in graph:
        prepared.add(triple)
    return prepared


def parse_input(item: CaseInput, limits: CaseLimits = DEFAULT_LIMITS) -> Graph:
    """The case graph, as a ``CaseGraph``: a ``PreparedQueryGraph`` (the form checks' SPARQL
    constraints, run by pySHACL, are parsed once per process instead of once per case, as the
    criterion validation already does) that converts its triples to Oxigraph once (``kb.batch.casegraph``)."""
    return _prepared(_parse(item, limits))


def _parse(item: CaseInput, limits: CaseLimits) -> Graph:
    if item.fmt == FAILED:
        raise CaseSyntaxError(item.source, str(item.data))
    if item.triples is not None:
        return graph_of(item.triples, item.source, limits)
    if item.fmt == NQUADS and item.data is not None:
        return graph_of(_nquads_triples(item), item.source, limits)
    if item.data is None:
        raise CaseSyntaxError(item.source, "the case is empty")
    if item.fmt == TURTLE:
        return _turtle(item.data, item.source, limits)
    if item.fmt == JSONLD:
        return parse_case(item.data, JSONLD, item.source, limits=limits)
    raise CaseSyntaxError(item.source, f"unsupported format {item.fmt!r}: use turtle or json-ld")


def _nquads_triples(item: CaseInput) -> list[OxTriple]:
    raw = item.data.encode("utf-8") if isinstance(item.data, str) else item.data
    assert raw is not None
    try:
        quads = list(ox.parse(raw, ox.RdfFormat.N_QUADS))
    except (SyntaxError, ValueError) as exc:
        raise CaseSyntaxError(item.source, f"invalid N-Quads (from line {item.line}): {exc}") from None
    return [(q.subject, q.predicate, q.object) for q in quads]


def parse_as_today(item: CaseInput, limits: CaseLimits = DEFAULT_LIMITS) -> Graph:
    """The single-request path's parsing (rdflib for Turtle), for comparisons."""
    if item.fmt in (TURTLE, JSONLD) and item.data is not None:
        return parse_case(item.data, item.fmt, item.source, limits=limits)
    return parse_input(item, limits)
