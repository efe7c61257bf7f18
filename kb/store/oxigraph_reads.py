"""Reads of an open pyoxigraph store, shared by the store writer and the store readers.

The store writer runs them on the database it owns; the store readers (``kb.store.store_reader``)
on a read-only snapshot. Results are wire terms (``kb.store.terms``), so they cross a pipe as is.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from kb.store.base import QueryOutcome, QuerySyntaxError, Triple
from kb.store.terms import WireTerm, from_oxigraph


class RowCapError(Exception):
    """A result passed its row cap (the caller turns it into RowCapExceededError)."""


def query(store: Any, sparql: str, row_cap: int) -> QueryOutcome:
    try:
        result = store.query(sparql, use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise QuerySyntaxError(str(exc)) from exc
    if isinstance(result, ox.QueryBoolean):
        return QueryOutcome(kind="ask", boolean=bool(result))
    if isinstance(result, ox.QuerySolutions):
        variables = tuple(v.value for v in result.variables)
        rows: list[tuple[WireTerm | None, ...]] = []
        for solution in result:
            if len(rows) >= row_cap:
                raise RowCapError(f"the result has more than {row_cap} rows")
            rows.append(tuple(None if solution[v] is None else from_oxigraph(solution[v]) for v in variables))
        return QueryOutcome(kind="select", variables=variables, rows=tuple(rows))
    triples: list[Triple] = []
    for triple in result:
        if len(triples) >= row_cap:
            raise RowCapError(f"the result has more than {row_cap} triples")
        triples.append((from_oxigraph(triple.subject), from_oxigraph(triple.predicate), from_oxigraph(triple.object)))
    return QueryOutcome(kind="graph", triples=tuple(triples))


def graph(store: Any, name: str) -> list[Triple] | None:
    node = ox.NamedNode(name)
    if not store.contains_named_graph(node):
        return None
    return [
        (from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
        for q in store.quads_for_pattern(None, None, None, node)
    ]


def graph_names(store: Any, prefix: str) -> list[str]:
    return sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g.value.startswith(prefix))
