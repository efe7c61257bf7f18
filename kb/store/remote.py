"""An external SPARQL 1.1 server as the store (query, update and graph-store endpoints).

Writes are one SPARQL Update request (``INSERT DATA`` with one ``GRAPH`` block per named graph),
which a conforming server applies atomically. Queries ask for SPARQL JSON results (or N-Triples for
CONSTRUCT/DESCRIBE) with the time limit as the HTTP timeout; the row cap is checked on the complete
answer. The union default graph is requested the way Oxigraph's server offers it
(``union-default-graph``), so the same queries work as on the embedded store.
"""

from __future__ import annotations

import json

import httpx
from rdflib import Graph

from kb.store.base import (
    NotAcceptableError,
    QueryOutcome,
    QueryRefusedError,
    QuerySyntaxError,
    QueryTimeoutError,
    ResultTooLargeError,
    RowCapExceededError,
    SparqlAnswer,
    SparqlLimits,
    SparqlRequest,
    StoreError,
    Triple,
)
from kb.store.sparql_output import (
    MEDIA_TYPE_OF,
    BoundedSink,
    oxigraph_triples,
    write_boolean,
    write_solutions,
    write_triples,
)
from kb.store.sparql_scan import UPDATE_REFUSED, check_text, looks_like_update
from kb.store.terms import WireTerm, from_rdflib, to_rdflib

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
Params = list[tuple[str, str | int | float | bool | None]]


def _nt_term(term: WireTerm) -> str:
    node = to_rdflib(term)
    return str(node.n3())


def _from_json(binding: dict[str, str]) -> WireTerm:
    kind = binding["type"]
    if kind == "uri":
        return ("u", binding["value"])
    if kind == "bnode":
        return ("b", binding["value"])
    return ("l", binding["value"], binding.get("datatype", XSD_STRING), binding.get("xml:lang", ""))


class RemoteSparqlStore:
    sole_writer = False  # other clients of the SPARQL server may write

    def __init__(self, query_url: str, update_url: str, graph_store_url: str, timeout: float = 120.0) -> None:
        self.query_url = query_url
        self.update_url = update_url
        self.graph_store_url = graph_store_url
        self._client = httpx.Client(timeout=timeout, trust_env=False)

    def _post_update(self, text: str) -> None:
        try:
            response = self._client.post(
                self.update_url, content=text.encode(), headers={"Content-Type": "application/sparql-update"}
            )
        except httpx.HTTPError as exc:
            raise StoreError(f"the SPARQL server did not answer: {exc}") from exc
        if response.status_code >= 300:
            raise StoreError(f"the SPARQL server refused the update: {response.status_code} {response.text[:300]}")

    def put_graphs(self, graphs: dict[str, list[Triple]]) -> None:
        blocks = []
        for name, triples in graphs.items():
            lines = " .\n".join(f"{_nt_term(s)} {_nt_term(p)} {_nt_term(o)}" for s, p, o in triples)
            blocks.append(f"GRAPH <{name}> {{\n{lines} }}")
        self._post_update("INSERT DATA {\n" + "\n".join(blocks) + "\n}")

    def drop_graphs(self, names: list[str]) -> None:
        self._post_update(" ;\n".join(f"DROP SILENT GRAPH <{name}>" for name in names))

    def query(self, sparql: str, timeout: float, row_cap: int) -> QueryOutcome:
        return self._query(sparql, timeout, row_cap, [("union-default-graph", "")])

    def sparql(self, request: SparqlRequest, limits: SparqlLimits) -> SparqlAnswer:
        """A client's query, checked and limited here, evaluated by the external server."""
        graphs: Params = [("default-graph-uri", g) for g in request.default_graphs]
        graphs += [
("named-graph-uri", g) for g in request.named_graphs]
        scanned = check_text(request.query, limits.max_nesting, limits.max_dataset_graphs, len(graphs))
        try:
            # The server's JSON or N-Triples is read up to twice the byte limit of the answer written from it.
            outcome = self._query(
                request.query, limits.timeout, limits.row_cap, graphs or [("union-default-graph", "")],
                max_bytes=2 * limits.max_response_bytes,
            )
        except QuerySyntaxError:
            if looks_like_update(scanned):
                raise QueryRefusedError(400, "Updates are refused", UPDATE_REFUSED) from None
            raise QueryRefusedError(400, "Malformed query", "the SPARQL server could not parse the query") from None
        except (QueryTimeoutError, RowCapExceededError, ResultTooLargeError):
            raise
        except StoreError:
            # Not the server's words: a client's answer never carries a response body from elsewhere.
            raise StoreError("the SPARQL server could not answer the query") from None
        sink = BoundedSink(limits.max_response_bytes)
        fmt = request.graph_format if outcome.kind == "graph" else request.result_format
        if fmt is None:
            raise NotAcceptableError("none of the accepted media types is offered for this query's results")
        if outcome.kind == "ask":
            write_boolean(sink, outcome.boolean, fmt)
        elif outcome.kind == "select":
            write_solutions(sink, outcome.variables, outcome.rows, fmt)
        else:
            write_triples(sink, oxigraph_triples(outcome.triples), fmt)
        return SparqlAnswer(sink.getvalue(), MEDIA_TYPE_OF[fmt])

    def _query(
        self, sparql: str, timeout: float, row_cap: int, params: Params, max_bytes: int | None = None
    ) -> QueryOutcome:
        """Run a query on the server; with ``max_bytes``, reading its answer stops past that many bytes."""
        request = self._client.build_request(
            "POST",
            self.query_url,
            params=params,
            content=sparql.encode(),
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json, application/n-triples;q=0.9",
            },
            timeout=timeout,
        )
        try:
            response = self._client.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if max_bytes is not None and len(body) > max_bytes:
                        raise ResultTooLargeError(f"the result exceeds {max_bytes} bytes")
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise QueryTimeoutError(f"the query ran past {timeout:g} s and was abandoned") from exc
        except httpx.HTTPError as exc:
            raise StoreError(f"the SPARQL server did not answer: {exc}") from exc
        content = bytes(body)
        if response.status_code == 400:
            raise QuerySyntaxError(content[:500].decode("utf-8", "replace"))
        if response.status_code >= 300:
            raise StoreError(f"the SPARQL server failed: {response.status_code} {content[:300].decode('utf-8', 'replace')}")
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind == "application/sparql-results+json":
            data = json.loads(content)
            if "boolean" in data:
                return QueryOutcome(kind="ask", boolean=bool(data["boolean"]))
            variables = tuple(data["head"].get("vars", []))
            bindings = data["results"]["bindings"]
            if len(bindings) > row_cap:
                raise RowCapExceededError(f"the result has more than {row_cap} rows")
            rows = tuple(tuple(_from_json(b[v]) if v in b else None for v in variables) for b in bindings)
            return QueryOutcome(kind="select", variables=variables, rows=rows)
        graph = Graph().parse(data=content, format="nt")
        if len(graph) > row_cap:
            raise RowCapExceededError(f"the result has more than {row_cap} triples")
        return QueryOutcome(kind="graph", triples=tuple((from_rdflib(s), from_rdflib(p), from_rdflib(o)) for s, p, o in graph))

    def graph(self, iri: str) -> list[Triple] | None:
        try:
            response = self._client.get(self.graph_store_url, params={"graph": iri}, headers={"Accept": "application/n-triples"})
        except httpx.HTTPError as exc:
            raise StoreError(f"the SPARQL server did not answer: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise StoreError(f"the graph store failed: {response.status_code} {response.text[:300]}")
        graph = Graph().parse(data=response.content, format="nt")
        return [(from_rdflib(s), from_rdflib(p), from_rdflib(o)) for s, p, o in graph]

    def graph_names(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace('"', '\\"')
        outcome = self.query(
            f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER (STRSTARTS(STR(?g), "{escaped}")) }}',
            60.0,
            10_000_000,
        )
        return sorted(row[0][1] for row in outcome.rows if row[0] is not None)

    def close(self) -> None:
        self._client.close()
