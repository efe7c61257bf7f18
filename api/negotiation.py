"""Content negotiation for RDF bodies and responses."""

from __future__ import annotations

from fastapi import Response
from rdflib import Graph

from api.problems import ProblemError
from api.sparql_results import GRAPH_TYPES, MEDIA_TYPE_OF, negotiate, serialize_graph
from kb.pipeline.caseio import JSONLD, TURTLE

RDF_BODY_FORMATS = {"text/turtle": TURTLE, "application/ld+json": JSONLD}


def rdf_response(graph: Graph, accept: str | None, default: str = "turtle") -> Response:
    fmt = negotiate(accept, GRAPH_TYPES, default)
    if fmt is None:
        raise ProblemError(406, "Not acceptable", "available as text/turtle, application/ld+json or application/n-triples")
    return Response(serialize_graph(graph, fmt), media_type=MEDIA_TYPE_OF[fmt])
