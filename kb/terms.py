"""The process's shared rdflib terms: one object per IRI, and per literal that is parsed or computed.

rdflib's memory stores find a term by identity before they call its ``__eq__``, and building a
``Literal`` runs rdflib's casting code; the batch engine's term table (``kb.batch.oxterms``) also
converts each object to Oxigraph once. So the IRIs the namespaces hand out and the batch engine
parses (``shared_iri``), the literals it parses (``shared_literal``, ``kb.batch.parsing``) and the
booleans, integers, dates and decimals enrichment computes (``boolean_literal`` …) are made once
each and then shared. rdflib terms are immutable, so sharing them changes no result.

Each table empties itself when full, so hostile input cannot grow it without bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

_IRIS: dict[str, URIRef] = {}
_IRIS_LIMIT = 200_000
_LITERALS: dict[object, Node] = {}
_LITERALS_LIMIT = 200_000

TRUE = Literal(True)
FALSE = Literal(False)


def shared_iri(value: str) -> URIRef:
    """The process's URIRef object for the IRI (made once while it stays in the table)."""
    term = _IRIS.get(value)
    if term is None:
        if len(_IRIS) >= _IRIS_LIMIT:
            _IRIS.clear()
        term = _IRIS[value] = URIRef(value)
    return term


def is_iri(term: object, iri: URIRef) -> bool:
    """Whether ``term`` is the IRI ``iri``: as rdflib's ``==`` answers (an IRI of the same text), with
    the text compared directly (rdflib's ``==`` runs Python code and copies both texts)."""
    return type(term) is URIRef and str.__eq__(term, iri)


def shared_literal(key: object, make: Callable[[], Node]) -> Node:
    """The process's literal for the key, made by ``make`` the first time (while it stays in the table).

    A key names the literal's lexical form and datatype (or language) exactly, tagged by who makes
    it, so two keys never stand for literals that differ."""
    term = _LITERALS.get(key)
    if term is None:
        if len(_LITERALS) >= _LITERALS_LIMIT:
            _LITERALS.clear()
        term = _LITERALS[key] = make()
    return term


def _literal(key: tuple[str, str], make: Callable[[], Literal]) -> Literal:
    term = shared_literal(key, make)
    assert isinstance(term, Literal)
    return term


def boolean_literal(value: bool) -> Literal:
    """``"true"``/``"false"^^xsd:boolean``."""
    return TRUE if value else FALSE


def integer_literal(value: int) -> Literal:
    """The ``xsd:integer`` literal of the number."""
    number = int(value)
    return _literal(("integer", str(number)), lambda: Literal(number, datatype=XSD.integer))


def date_literal(day: dt.date) -> Literal:
    """The ``xsd:date`` literal of the day."""
    return _literal(("date", day.isoformat()), lambda: Literal(day, datatype=XSD.date))


def decimal_literal(value: Decimal) -> Literal:
    """The ``xsd:decimal`` literal of the number, with its digits as written (``1.50`` stays ``1.50``)."""
    return _literal(("decimal", str(value)), lambda: Literal(value, datatype=XSD.decimal))
