"""What every store offers the service, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from kb.store.terms import WireTerm

Triple = tuple[WireTerm, WireTerm, WireTerm]


class StoreError(Exception):
    """The store could not do what was asked (the message says why)."""


class QueryTimeoutError(StoreError):
    """A query ran past the time limit and was stopped."""


class RowCapExceededError(StoreError):
    """A result had more rows than allowed; no partial answer is given."""


class QuerySyntaxError(StoreError):
    """The store could not parse the query."""


@dataclass(frozen=True)
class QueryOutcome:
    """A complete query result: SELECT rows, an ASK boolean, or CONSTRUCT/DESCRIBE triples."""

    kind: str  # "select", "ask" or "graph"
    variables: tuple[str, ...] = ()
    rows: tuple[tuple[WireTerm | None, ...], ...] = ()
    boolean: bool = False
    triples: tuple[Triple, ...] = field(default_factory=tuple)


class Store(Protocol):
    def put_graphs(self, graphs: dict[str, list[Triple]]) -> None:
        """Write several named graphs in one transaction (replacing graphs of the same names)."""

    def query(self, sparql: str, timeout: float, row_cap: int) -> QueryOutcome:
        """Run a read-only query over the union of the named graphs."""

    def graph(self, iri: str) -> list[Triple] | None:
        """The triples of a named graph, or None when it does not exist."""

    def graph_names(self, prefix: str) -> list[str]:
        """Names of the named graphs whose IRI starts with the prefix."""

    def close(self) -> None:
        """Release the store."""
