"""Checks a SPARQL request before it reaches the store: queries only, no SERVICE, no outside graphs.

The query is parsed with rdflib's SPARQL 1.1 parser. An update is refused; a query that uses
``SERVICE`` (federation would make the server fetch from the network) is refused; ``FROM`` and
``FROM NAMED`` may only name graphs that exist in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

MAX_QUERY_CHARS = 100_000
UPDATE_REFUSED = "this endpoint answers queries only; SPARQL Update is refused"
SERVICE_REFUSED = "federated queries (SERVICE) are not evaluated: this endpoint never fetches from the network"
QUERY_FORMS = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "construct", "DescribeQuery": "describe"}


class QueryRefusedError(Exception):
    """The request is not an acceptable read-only query; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class CheckedQuery:
    text: str
    form: str  # select, ask, construct or describe


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, CompValue):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list | tuple | ParseResults):
        for item in node:
            yield from _walk(item)


def check_query(text: str, graph_exists: Callable[[str], bool]) -> CheckedQuery:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefusedError(400, "Query too long", f"the query has {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    try:
        parsed = parseQuery(text)
    except ParseException as exc:
        try:
            parseUpdate(text)
        except ParseException:
            raise QueryRefusedError(
                400, "Malformed query", f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}"
            ) from None
        raise QueryRefusedError(
            403, "Updates are refused", "this endpoint answers queries only; SPARQL Update is refused"
        ) from None
    query = parsed[1]
    form = QUERY_FORMS.get(getattr(query, "name", ""), "")
    if not form:
        raise QueryRefusedError(400, "Malformed query", "not a SELECT, ASK, CONSTRUCT or DESCRIBE query")
    for node in _walk(parsed):
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            raise QueryRefusedError(
                403,
                "SERVICE is refused",
                "federated queries (SERVICE) are not evaluated: this endpoint never fetches from the network",
            )
    # rdflib's CompValue.get() does not return the default for a missing key, hence the explicit tests.
    clauses = query["datasetClause"] if "datasetClause" in query else []  # noqa: SIM401
    for clause in clauses:
        iri = clause["default"] if "default" in clause else clause["named"] if "named" in clause else None  # noqa: SIM401
        if iri is None or not graph_exists(str(iri)):
            raise QueryRefusedError(
                403,
                "Graph outside the store",
                f"FROM / FROM NAMED <{iri}> names no graph in this store; nothing is fetched",
            )
    return CheckedQuery(text=text, form=form)
