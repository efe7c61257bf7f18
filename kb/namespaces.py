"""RDF namespaces of the project."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import SH

IP = Namespace("https://w3id.org/ipkg/ontology#")
IPS = Namespace("https://w3id.org/ipkg/shapes#")
CASE = Namespace("https://w3id.org/ipkg/case/")
DET = Namespace("https://w3id.org/ipkg/determination/")
JSONLD_CONTEXT_IRI = "https://w3id.org/ipkg/context.jsonld"

__all__ = ["CASE", "DET", "IP", "IPS", "JSONLD_CONTEXT_IRI", "SH"]
