"""Media types of query results and RDF bodies, and content negotiation over them.

Query results themselves are written by the store's SPARQL workers (``kb.store.sparql_output``).
"""

from __future__ import annotations

from rdflib import Graph

from kb.store.sparql_output import MEDIA_TYPE_OF

RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "text/plain": "nt",
}


def negotiate(accept: str | None, offered: dict[str, str], default: str) -> str | None:
    """The best offered format for an Accept header (None when nothing acceptable is offered)."""
    if not accept:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for field in fields[1:]:
            if field.startswith("q="):
                try:
                    quality = float(field[2:])
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in offered:
            choices.append((quality, -index, offered[media]))
        elif media in ("*/*", "application/*", "text/*"):
            choices.append((quality - 0.001, -index, default))
    return max(choices)[2] if choices else None


def serialize_graph(graph: Graph, fmt: str) -> bytes:
    return graph.serialize(format=fmt, encoding="utf-8")


__all__ = ["GRAPH_TYPES", "MEDIA_TYPE_OF", "RESULT_TYPES", "negotiate", "serialize_graph"]
