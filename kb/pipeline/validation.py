"""SHACL validation of an enriched case against the fixed criterion shapes."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from pyshacl.graph_abstraction import DataGraph
from pyshacl.shapes_graph import ShapesGraph
from pyshacl.validator import Validator
from rdflib import RDF, BNode, Graph, URIRef
from rdflib.namespace import SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from kb.knowledge import Knowledge

_OPTIONS: dict[str, Any] = {
    "inference": "none",
    "inplace": True,
    "allow_warnings": True,
    "allow_infos": False,
    "advanced": False,
    "abort_on_first": False,
}
_LOCK = threading.Lock()
_SHAPES_GRAPHS: dict[int, ShapesGraph] = {}


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
        init_ns = kwargs.get("initNs") or (args[2] if len(args) > 2 else None)
        if isinstance(query_object, str) and not init_ns:
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


def _shapes_graph(shapes: Graph) -> ShapesGraph:
    """The pySHACL view of a shapes graph, built once per process (shapes are harvested once)."""
    key = id(shapes)
    if key not in _SHAPES_GRAPHS:
        shapes_graph = ShapesGraph(shapes)
        _ = shapes_graph.shapes  # harvest now, not during the first case
        _SHAPES_GRAPHS[key] = shapes_graph
    return _SHAPES_GRAPHS[key]


def _prepared_copy(graph: Graph) -> PreparedQueryGraph:
    copy = PreparedQueryGraph()
    for triple in graph:
        copy.add(triple)
    return copy


def run_shacl(data: Graph, shapes: Graph, ont_graph: Graph | None, only_shapes: list[URIRef] | None = None) -> tuple[bool, Graph]:
    """Run pySHACL over ``data`` (changed in place when ``ont_graph`` is mixed in) with fixed shapes.

    ``only_shapes`` restricts validation to those shapes (pySHACL's ``use_shapes``); their targets
    are still selected by pySHACL as usual.
    """
    if not data.store.context_aware:
        # pySHACL reads the data through a Dataset over the graph's store, which rdflib's plain store
        # (the batch engine's case graphs) cannot back: such a graph is validated as a copy.
        data = _prepared_copy(data)
    options = dict(_OPTIONS)
    if only_shapes is not None:
        options["use_shapes"] = [str(shape) for shape in only_shapes]
    with _LOCK:
        validator = Validator(DataGraph.from_rdflib(data), shacl_graph=shapes, ont_graph=ont_graph, options=options)
        validator.shacl_graph = _shapes_graph(shapes)
        conforms, report, text = validator.run()  # type: ignore[no-untyped-call]
    if not isinstance(report, Graph):
        raise RuntimeError(f"SHACL validation failed: {text}")
    return bool(conforms), report


def applicable_shapes(case: Graph, request: URIRef, knowledge: Knowledge) -> list[URIRef]:
    """The criterion shapes that target one of the request's classes (its review contexts)."""
    types = set(case.objects(request, RDF.type))
    return sorted(c.shape for c in knowledge.criteria.values() if c.shape is not None and c.target_classes & types)


def validate_case(case: Graph, knowledge: Knowledge, request: URIRef | None = None) -> tuple[bool, Graph]:
    """Validate with pySHACL; shapes come only from the project's shapes graph, never from the case.

    The ontology's axioms are passed as ``ont_graph`` (mixed into a private copy of the case graph,
    so the caller's graph is untouched); no inference runs per case, because the enrichment step
    has already asserted the classes the shapes need from a closure computed once. Given the
    request, only the shapes of the guideline and phase it is reviewed in are evaluated: the others
    have no focus node in the case, so the report is the same, without the cost of every guideline's
    shapes.
    """
    data = _prepared_copy(case)
    only = applicable_shapes(case, request, knowledge) if request is not None else None
    return run_shacl(data, knowledge.shapes, knowledge.axioms, only)


def warm_up(knowledge: Knowledge) -> int:
    """Parse every SHACL-SPARQL constraint of the criterion and form shapes now; returns how many texts are cached.

    A constraint's text is parsed the first time pySHACL evaluates it, about 40 ms each (259 texts),
    so the first cases of each guideline in a fresh process would take up to a second longer. Each
    shapes graph is run once over a graph holding one node of every class a shape targets (and one
    subject of every predicate a shape targets the subjects of), which evaluates every constraint once.
    """
    for shapes, axioms in ((knowledge.shapes, knowledge.axioms), (knowledge.form_shapes, None)):
        data = PreparedQueryGraph()
        for cls in set(shapes.objects(None, SH.targetClass)):
            data.add((BNode(), RDF.type, cls))
        for predicate in set(shapes.objects(None, SH.targetSubjectsOf)):
            assert isinstance(predicate, URIRef)
            data.add((BNode(), predicate, BNode()))
        run_shacl(data, shapes, axioms)
    return _prepared.cache_info().currsize
