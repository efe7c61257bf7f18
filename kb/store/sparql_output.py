"""Writing query results in the SPARQL 1.1 result formats and RDF formats, with a byte limit.

Everything is written row by row into a ``BoundedSink`` that raises ``ResultTooLargeError`` as
soon as the output passes the limit, so a huge result is stopped while it is being produced and
never held in full. The row cap is checked the same way.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any, cast
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from kb.store.base import ResultTooLargeError, RowCapExceededError, Triple
from kb.store.terms import WireTerm, to_oxigraph

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
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
RDF_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "json-ld": ox.RdfFormat.JSON_LD, "nt": ox.RdfFormat.N_TRIPLES}
PREFIXES = {
    "ip": "https://w3id.org/ipkg/ontology#",
    "ips": "https://w3id.org/ipkg/shapes#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

Row = tuple[WireTerm | None, ...]


class BoundedSink(io.BufferedIOBase):
    """A binary buffer that refuses to grow past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any, /) -> int:
        chunk = bytes(data)
        if len(self._buffer) + len(chunk) > self.limit:
            raise ResultTooLargeError(f"the result exceeds {self.limit} bytes")
        self._buffer.extend(chunk)
        return len(chunk)

    def text(self, value: str) -> None:
        self.write(value.encode("utf-8"))

    def getvalue(self) -> bytes:
        return bytes(self._buffer)


def capped(items: Iterable[Any], row_cap: int, what: str) -> Iterator[Any]:
    for count, item in enumerate(items):
        if count >= row_cap:
            raise RowCapExceededError(f"the result has more than {row_cap} {what}")
        yield item


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


def write_boolean(sink: BoundedSink, value: bool, fmt: str) -> None:
    word = "true" if value else "false"
    if fmt == "json":
        sink.text(json.dumps({"head": {}, "boolean": value}))
    elif fmt == "xml":
        sink.text(f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>\n</head>\n'
                  f"<boolean>{word}</boolean>\n</sparql>")
    elif fmt == "csv":
        sink.text(f"_askResult\r\n{word}\r\n")
    else:
        sink.text(f"?_askResult\n{word}\n")


def write_solutions(sink: BoundedSink, variables: tuple[str, ...], rows: Iterable[Row], fmt: str) -> None:
    """SELECT results, one row at a time."""
    if fmt == "json":
        sink.text(json.dumps({"head": {"vars": list(variables)}})[:-1] + ', "results": {"bindings": [')
        for index, row in enumerate(rows):
            binding = {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
            sink.text(("," if index else "") + json.dumps(binding))
        sink.text("]}}")
    elif fmt == "xml":
        sink.text('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>\n')
        sink.text("".join(f"<variable name={quoteattr(v)}/>\n" for v in variables) + "</head>\n<results>\n")
        for row in rows:
            cells = "".join(
                f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>" for v, t in zip(variables, row, strict=True) if t
            )
            sink.text(f"<result>{cells}</result>\n")
        sink.text("</results>\n</sparql>")
    elif fmt == "csv":
        line = io.StringIO()
        writer = csv.writer(line, lineterminator="\r\n")
        writer.writerow(variables)
        sink.text(line.getvalue())
        for row in rows:
            line.seek(0)
            line.truncate()
            writer.writerow(["" if t is None else t[1] for t in row])
            sink.text(line.getvalue())
    else:
        sink.text("\t".join(f"?{v}" for v in variables) + "\n")
        for row in rows:
            sink.text("\t".join("" if t is None else _tsv_term(t) for t in row) + "\n")


def oxigraph_triples(triples: Iterable[Triple]) -> Iterator[Any]:
    return (ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in triples)


def write_triples(sink: BoundedSink, triples: Iterable[Any], fmt: str) -> None:
    """CONSTRUCT / DESCRIBE results (pyoxigraph ``Triple`` objects) with Oxigraph's streaming RDF serializers."""
    prefixes = PREFIXES if fmt == "turtle" else None
    ox.serialize(triples, cast(IO[bytes], sink), RDF_FORMATS[fmt], prefixes=prefixes)
