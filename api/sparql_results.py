"""Serializing complete query results in the SPARQL 1.1 result formats and RDF formats."""

from __future__ import annotations

import csv
import io
import json
from xml.sax.saxutils import escape, quoteattr

from rdflib import Graph

from kb.store.base import QueryOutcome
from kb.store.terms import WireTerm, to_rdflib

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

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
TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
MEDIA_TYPE_OF = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "json-ld": "application/ld+json",
    "nt": "application/n-triples",
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


def _json_term(term: WireTerm) -> dict[str, str]:
    if term[0] == "u":
        return {"type": "uri", "value": term[1]}
    if term[0] == "b":
        return {"type": "bnode", "value": term[1]}
    result = {"type": "literal", "value": term[1]}
    if term[3]:
        result["xml:lang"] = term[3]
    elif term[2] != XSD_STRING:
        result["datatype"] = term[2]
    return result


def _xml_term(term: WireTerm) -> str:
    if term[0] == "u":
        return f"<uri>{escape(term[1])}</uri>"
    if term[0] == "b":
        return f"<bnode>{escape(term[1])}</bnode>"
    if term[3]:
        return f"<literal xml:lang={quoteattr(term[3])}>{escape(term[1])}</literal>"
    if term[2] != XSD_STRING:
        return f"<literal datatype={quoteattr(term[2])}>{escape(term[1])}</literal>"
    return f"<literal>{escape(term[1])}</literal>"


def _tsv_term(term: WireTerm) -> str:
    if term[0] == "u":
        return f"<{term[1]}>"
    if term[0] == "b":
        return f"_:{term[1]}"
    lexical = term[1].translate(TSV_ESCAPES)
    if term[3]:
        return f'"{lexical}"@{term[3]}'
    if term[2] != XSD_STRING:
        return f'"{lexical}"^^<{term[2]}>'
    return f'"{lexical}"'


def serialize_results(outcome: QueryOutcome, fmt: str) -> bytes:
    """SELECT or ASK results in json, xml, csv or tsv."""
    if fmt == "json":
        head: dict[str, object] = {"vars": list(outcome.variables)} if outcome.kind == "select" else {}
        if outcome.kind == "ask":
            return json.dumps({"head": head, "boolean": outcome.boolean}).encode()
        bindings = [
            {v: _json_term(t) for v, t in zip(outcome.variables, row, strict=True) if t is not None} for row in outcome.rows
        ]
        return json.dumps({"head": head, "results": {"bindings": bindings}}).encode()
    if fmt == "xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
        out += [f"<variable name={quoteattr(v)}/>" for v in outcome.variables]
        out.append("</head>")
        if outcome.kind == "ask":
            out.append(f"<boolean>{'true' if outcome.boolean else 'false'}</boolean>")
        else:
            out.append("<results>")
            for row in outcome.rows:
                out.append("<result>")
                out += [
                    f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                    for v, t in zip(outcome.variables, row, strict=True)
                    if t is not None
                ]
                out.append("</result>")
            out.append("</results>")
        out.append("</sparql>")
        return "\n".join(out).encode()
    if outcome.kind == "ask":
        return (
            f"_askResult\r\n{'true' if outcome.boolean else 'false'}\r\n"
            if fmt == "csv"
            else f"?_askResult\n{'true' if outcome.boolean else 'false'}\n"
        ).encode()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(outcome.variables)
        for row in outcome.rows:
            writer.writerow(["" if t is None else t[1] for t in row])
        return buffer.getvalue().encode()
    lines = ["\t".join(f"?{v}" for v in outcome.variables)]
    lines += ["\t".join("" if t is None else _tsv_term(t) for t in row) for row in outcome.rows]
    return ("\n".join(lines) + "\n").encode()


def outcome_graph(outcome: QueryOutcome) -> Graph:
    graph = Graph()
    for s, p, o in outcome.triples:
        graph.add((to_rdflib(s), to_rdflib(p), to_rdflib(o)))
    return graph


def serialize_graph(graph: Graph, fmt: str) -> bytes:
    return graph.serialize(format=fmt, encoding="utf-8")
