"""RDF namespaces of the project."""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import SH

# One URIRef object per IRI for the terms the namespaces below hand out and the IRIs the batch
# engine parses (kb.batch.parsing): rdflib's indexes then find a term by identity instead of calling
# URIRef.__eq__ on an equal copy. Emptied when full, so hostile input cannot grow it without bound.
_IRIS: dict[str, URIRef] = {}
_IRIS_LIMIT = 200_000


def shared_iri(value: str) -> URIRef:
    """The process's URIRef object for the IRI (made once while it stays in the table)."""
    term = _IRIS.get(value)
    if term is None:
        if len(_IRIS) >= _IRIS_LIMIT:
            _IRIS.clear()
        term = _IRIS[value] = URIRef(value)
    return term


class TermCachingNamespace(Namespace):
    """A namespace whose terms are made once each.

    rdflib's ``Namespace`` builds a new ``URIRef`` (checking the IRI) on every attribute access;
    the enrichment and decision code reads ``IP.<term>`` hundreds of times per case. Here the first
    access keeps the term on the namespace object, where later accesses find it directly.
    """

    def __getattr__(self, name: str) -> URIRef:
        term = shared_iri(str(super().__getattr__(name)))
        self.__dict__[name] = term
        return term


IP = TermCachingNamespace("https://w3id.org/ipkg/ontology#")
IPS = TermCachingNamespace("https://w3id.org/ipkg/shapes#")
CASE = TermCachingNamespace("https://w3id.org/ipkg/case/")
DET = TermCachingNamespace("https://w3id.org/ipkg/determination/")
JSONLD_CONTEXT_IRI = "https://w3id.org/ipkg/context.jsonld"

__all__ = ["CASE", "DET", "IP", "IPS", "JSONLD_CONTEXT_IRI", "SH", "TermCachingNamespace", "shared_iri"]
