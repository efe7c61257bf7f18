"""RDF terms on the wire between processes and stores: plain, picklable tuples.

("u", iri) for an IRI, ("b", label) for a blank node, ("l", lexical, datatype, language) for a
literal (language "" when there is none).
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

WireTerm = tuple[str, ...]
RDF_LANG_STRING = str(RDF.langString)


def from_oxigraph(term: Any) -> WireTerm:
    if isinstance(term, ox.NamedNode):
        return ("u", term.value)
    if isinstance(term, ox.BlankNode):
        return ("b", term.value)
    if isinstance(term, ox.Literal):
        return ("l", term.value, term.datatype.value, term.language or "")
    raise TypeError(f"unsupported term {term!r}")


def to_rdflib(term: WireTerm) -> Node:
    if term[0] == "u":
        return URIRef(term[1])
    if term[0] == "b":
        return BNode(term[1])
    lexical, datatype, language = term[1], term[2], term[3]
    if language:
        return Literal(lexical, lang=language)
    if datatype == str(XSD.string):
        return Literal(lexical)
    return Literal(lexical, datatype=URIRef(datatype))


def from_rdflib(term: Node) -> WireTerm:
    if isinstance(term, URIRef):
        return ("u", str(term))
    if isinstance(term, BNode):
        return ("b", str(term))
    if isinstance(term, Literal):
        if term.language:
            return ("l", str(term), RDF_LANG_STRING, term.language)
        return ("l", str(term), str(term.datatype or XSD.string), "")
    raise TypeError(f"unsupported term {term!r}")


def to_oxigraph(term: WireTerm) -> Any:
    if term[0] == "u":
        return ox.NamedNode(term[1])
    if term[0] == "b":
        return ox.BlankNode(term[1])
    if term[3]:
        return ox.Literal(term[1], language=term[3])
    return ox.Literal(term[1], datatype=ox.NamedNode(term[2]))
