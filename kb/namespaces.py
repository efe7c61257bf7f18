"""RDF namespaces of the project."""

from __future__ import annotations

from rdflib import OWL as _OWL
from rdflib import RDF as _RDF
from rdflib import RDFS as _RDFS
from rdflib import XSD as _XSD
from rdflib import Namespace, URIRef
from rdflib.namespace import SH as _SH
from rdflib.namespace import DefinedNamespace

from kb.terms import shared_iri


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


class SharedTerms:
    """One of rdflib's W3C vocabularies (RDF, RDFS, OWL, XSD, SHACL) whose terms are made once each.

    rdflib's closed namespaces build and check a new ``URIRef`` on every attribute access
    (``RDF.type``), which the engine does thousands of times per case. Here the first access keeps
    the process's shared term (``kb.terms.shared_iri``) on this object. A name the vocabulary does
    not define fails as it does in rdflib."""

    def __init__(self, vocabulary: type[DefinedNamespace]) -> None:
        self._vocabulary = vocabulary

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("_"):
            raise AttributeError(name)
        term = shared_iri(str(getattr(self._vocabulary, name)))
        self.__dict__[name] = term
        return term

    def __getitem__(self, name: str) -> URIRef:
        """A term whose name is a Python keyword (``SH["in"]``)."""
        return shared_iri(str(self._vocabulary[name]))

    def __str__(self) -> str:
        return str(self._vocabulary)

    def __repr__(self) -> str:
        return f"SharedTerms({self._vocabulary!s})"


RDF = SharedTerms(_RDF)
RDFS = SharedTerms(_RDFS)
OWL = SharedTerms(_OWL)
XSD = SharedTerms(_XSD)
SH = SharedTerms(_SH)
IP = TermCachingNamespace("https://w3id.org/ipkg/ontology#")
IPS = TermCachingNamespace("https://w3id.org/ipkg/shapes#")
CASE = TermCachingNamespace("https://w3id.org/ipkg/case/")
DET = TermCachingNamespace("https://w3id.org/ipkg/determination/")
JSONLD_CONTEXT_IRI = "https://w3id.org/ipkg/context.jsonld"

__all__ = [
    "CASE",
    "DET",
    "IP",
    "IPS",
    "JSONLD_CONTEXT_IRI",
    "OWL",
    "RDF",
    "RDFS",
    "SH",
    "XSD",
    "SharedTerms",
    "TermCachingNamespace",
]
