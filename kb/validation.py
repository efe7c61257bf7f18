"""SHACL validation of an enriched case against the fixed criterion shapes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pyshacl import validate
from rdflib import Graph
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from kb.knowledge import Knowledge


@lru_cache(maxsize=1024)
def _prepared(text: str) -> Query:
    return prepareQuery(text)


class PreparedQueryGraph(Graph):
    """A graph that parses and translates each distinct SPARQL text once per process.

    pySHACL hands every SHACL-SPARQL constraint to ``query()`` as text for every focus node;
    parsing that text dominates validation time. The constraint texts are fixed (they come from the
    shapes graph), so the parsed algebra is cached and reused with the per-node bindings.
    """

    def query(self, query_object: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query_object, str) and not kwargs.get("initNs"):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


def validate_case(case: Graph, knowledge: Knowledge) -> tuple[bool, Graph]:
    """Validate with pySHACL; shapes come only from the project's shapes graph, never from the case.

    The ontology is passed as ``ont_graph`` (mixed into a private copy of the case graph); no
    inference runs per case, because the enrichment step has already asserted the classes the
    shapes need from a closure computed once.
    """
    data = PreparedQueryGraph()
    for triple in case:
        data.add(triple)
    conforms, report, _text = validate(
        data,
        shacl_graph=knowledge.shapes,
        ont_graph=knowledge.ontology,
        inference="none",
        allow_warnings=True,
        inplace=True,
    )
    if not isinstance(report, Graph):
        raise RuntimeError(f"SHACL validation failed: {_text}")
    return bool(conforms), report
