"""A case's triples as Oxigraph terms, converted once however many stores the case is loaded into.

The batch path loads each case into two Oxigraph stores: the form screen's (``kb.batch.formscreen``)
and, once enriched, the validator's (``kb.batch.setvalidation``). A case the batch parses is a
``CaseGraph``: it records every triple added to it, in order, so the first load converts the parsed
triples and the second converts only what enrichment added since (enrichment only adds). A removal
ends the record; the case is then converted as it stands, as any other graph is (a pinned copy of a
case with partial dates, say).

``oxigraph_triples`` gives the triples as quads of a graph named for the case (its blank nodes as
Oxigraph blank nodes of its own: the same quads serve both stores), the blank nodes' rdflib labels,
and the IRIs the case names as subject or object outside the W3C vocabularies and the ontology's
namespace (the candidates for the nodes a case owns). None when the case holds a literal an Oxigraph
store would read back in another form (``kb.batch.literals``): such a case goes to pySHACL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.batch.casestore import CaseStoreGraph
from kb.batch.oxterms import literal_as_written, ox_iri, ox_literal
from kb.namespaces import IP, OWL, RDF, RDFS, SH, XSD
from kb.pipeline.validation import PreparedQueryGraph

OxSubject = ox.NamedNode | ox.BlankNode
RdfTriple = tuple[Node, Node, Node]
_NAMES = itertools.count()

# IRIs in these namespaces are never a case's own nodes.
SHARED_NAMESPACES = (str(IP), str(RDF), str(RDFS), str(OWL), str(XSD), str(SH))


def _case_graph_name() -> ox.NamedNode:
    """A graph name no other case of the process has."""
    return ox.NamedNode(f"urn:ipkg:batch:case:{next(_NAMES)}")


@dataclass
class OxigraphTriples:
    """A case's triples as Oxigraph quads (see the module's docstring)."""

    graph: ox.NamedNode | ox.DefaultGraph = field(default_factory=_case_graph_name)
    quads: list[ox.Quad] = field(default_factory=list)
    blanks: dict[str, BNode] = field(default_factory=dict)  # Oxigraph blank node id -> the case's blank node
    iris: set[URIRef] = field(default_factory=set)
    as_written: bool = True  # False once a literal the store would read back in another form was met
    _blank_ids: dict[BNode, ox.BlankNode] = field(default_factory=dict)

    def _node(self, term: Node) -> OxSubject:
        # type() first: rdflib's term classes are abstract-base-class instances, whose isinstance runs Python code.
        if type(term) is URIRef or isinstance(term, URIRef):
            if not str.startswith(term, SHARED_NAMESPACES):
                self.iris.add(term)
            return ox_iri(term)
        if type(term) is BNode or isinstance(term, BNode):
            blank = self._blank_ids.get(term)
            if blank is None:
                blank = self._blank_ids[term] = ox.BlankNode()
                self.blanks[blank.value] = term
            return blank
        raise TypeError(f"unexpected term {term!r}")

    def extend(self, triples: Iterable[RdfTriple], *, as_written_only: bool = True) -> None:
        """Convert and append the triples; with ``as_written_only`` an unkept literal ends the conversion
        (``as_written`` False); without, it is loaded as written (the ontology's axioms)."""
        append, graph, node = self.quads.append, self.graph, self._node
        for s, p, o in triples:
            obj: ox.NamedNode | ox.BlankNode | ox.Literal | None
            if type(o) is Literal or isinstance(o, Literal):
                obj = ox_literal(o)
                if obj is None:
                    if as_written_only:
                        self.as_written = False
                        self.quads.clear()
                        return
                    obj = literal_as_written(o)
            else:
                obj = node(o)
            if type(p) is not URIRef and not isinstance(p, URIRef):
                raise TypeError(f"unexpected predicate {p!r}")
            append(ox.Quad(node(s), ox_iri(p), obj, graph))


class CaseGraph(CaseStoreGraph, PreparedQueryGraph):
    """A parsed case that records the triples added to it until one is removed (module docstring).

    Its triples live in a ``CaseStore`` (``kb.batch.casestore``).
    """

    def __init__(self) -> None:
        super().__init__()
        self._added: list[RdfTriple] | None = []
        self._view: OxigraphTriples | None = None
        self._converted = 0  # how many recorded triples the view holds

    def add(self, triple: Any) -> Any:
        if self._added is not None:
            self._added.append(triple)
        return super().add(triple)

    def add_all(self, triples: list[RdfTriple]) -> None:
        if self._added is not None:
            self._added.extend(triples)
        super().add_all(triples)

    def addN(self, quads: Iterable[Any]) -> Any:
        quads = list(quads)
        if self._added is not None:
            self._added.extend((s, p, o) for s, p, o, _ in quads)
        return super().addN(quads)

    def remove(self, triple: Any) -> Any:
        self._added = None
        self._view = None
        return super().remove(triple)

    def recorded_view(self) -> OxigraphTriples | None:
        """The view over every triple added so far, converting only those added since the last call;
        None once a triple was removed."""
        if self._added is None:
            return None
        if self._view is None:
            self._view = OxigraphTriples()
        view = self._view
        if view.as_written and self._converted < len(self._added):
            view.extend(self._added[self._converted :])
        self._converted = len(self._added)
        return view


def oxigraph_triples(graph: Graph) -> OxigraphTriples | None:
    """The case's triples as Oxigraph terms (module docstring); None when it holds an unkept literal."""
    view = graph.recorded_view() if isinstance(graph, CaseGraph) else None
    if view is None:
        view = OxigraphTriples()
        view.extend(graph)
    return view if view.as_written else None
