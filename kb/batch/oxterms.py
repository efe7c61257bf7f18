"""rdflib IRIs and literals as Oxigraph terms, each converted once per chunk.

The batch path copies every case into Oxigraph stores twice (the form screen's, the validator's),
and the cases of a process share most of their terms: the ontology's IRIs, codes, dates, flags.
The table is keyed by the rdflib object itself (its identity): the batch path shares one object per
term (``kb.batch.parsing``, ``kb.terms``), and an identity lookup is a dict probe
where hashing an rdflib term runs Python code. Each entry keeps its rdflib object alive, so an
identity is never reused while its entry is in the table. The table empties itself when full, as
the other term tables do, so hostile input cannot grow it without bound.

For a literal the entry also says whether an Oxigraph store keeps it as written
(``kb.batch.literals``); ``None`` stands for "not kept": such a case is validated by pySHACL.

``forget`` empties the table at the end of each chunk (``kb.batch.chunk``): the form screen and the
validator of a chunk share its conversions, and the terms that only one chunk made (the dates and
counts enrichment computes) do not outlive it. Chunks of a process run one at a time.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Literal, URIRef

from kb.batch.literals import stable_in_oxigraph

_TABLE: dict[int, tuple[object, ox.NamedNode | ox.Literal | None]] = {}
_LIMIT = 200_000


def _remember(term: object, converted: ox.NamedNode | ox.Literal | None) -> None:
    if len(_TABLE) >= _LIMIT:
        _TABLE.clear()
    _TABLE[id(term)] = (term, converted)


def ox_iri(term: URIRef) -> ox.NamedNode:
    """The Oxigraph IRI of an rdflib IRI."""
    entry = _TABLE.get(id(term))
    if entry is not None and entry[0] is term:
        node = entry[1]
        assert isinstance(node, ox.NamedNode)
        return node
    node = ox.NamedNode(str(term))
    _remember(term, node)
    return node


def ox_literal(term: Literal) -> ox.Literal | None:
    """The Oxigraph literal of an rdflib literal, or None when a store would read it back in another form."""
    entry = _TABLE.get(id(term))
    if entry is not None and entry[0] is term:
        literal = entry[1]
        assert literal is None or isinstance(literal, ox.Literal)
        return literal
    converted = literal_as_written(term) if stable_in_oxigraph(term) else None
    _remember(term, converted)
    return converted


def literal_as_written(term: Literal) -> ox.Literal:
    """The Oxigraph literal of an rdflib literal, whether or not a store keeps it as written."""
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype is not None:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


def forget() -> None:
    """Empty the table (at the end of a chunk)."""
    _TABLE.clear()


def table_size() -> int:
    """How many terms the table holds (for tests of its bound)."""
    return len(_TABLE)
