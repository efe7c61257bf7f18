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


class QueryRefusedError(StoreError):
    """A request is not an acceptable read-only query; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(detail)


class ResultTooLargeError(StoreError):
    """The serialized result passed the byte limit; serializing stopped there and nothing is answered."""


class NotAcceptableError(StoreError):
    """None of the accepted media types is offered for this query's form."""


class EndpointBusyError(StoreError):
    """Every SPARQL worker is busy and the waiting queue is full (or no worker became free in time)."""


class EndpointUnavailableError(StoreError):
    """The SPARQL workers cannot run (for instance no network sandbox on this host)."""


@dataclass(frozen=True)
class SparqlLimits:
    """Limits of one public SPARQL request (see ``api.settings``)."""

    timeout: float
    row_cap: int
    max_response_bytes: int
    max_nesting: int
    max_dataset_graphs: int


@dataclass(frozen=True)
class SparqlRequest:
    """A SPARQL 1.1 Protocol query request as the store runs it.

    ``result_format`` / ``graph_format`` are the negotiated formats for SELECT/ASK and for
    CONSTRUCT/DESCRIBE results (None: nothing acceptable of that kind). Empty ``default_graphs`` and
    ``named_graphs`` mean the endpoint's dataset (the union of the named graphs as default graph).
    """

    query: str
    result_format: str | None
    graph_format: str | None
    base_iri: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SparqlAnswer:
    body: bytes
    media_type: str


@dataclass(frozen=True)
class QueryOutcome:
    """A complete query result: SELECT rows, an ASK boolean, or CONSTRUCT/DESCRIBE triples."""

    kind: str  # "select", "ask" or "graph"
    variables: tuple[str, ...] = ()
    rows: tuple[tuple[WireTerm | None, ...], ...] = ()
    boolean: bool = False
    triples: tuple[Triple, ...] = field(default_factory=tuple)


class Store(Protocol):
    sole_writer: bool
    """Whether this object is the only writer of its store (then the service keeps an index of the lists)."""

    def put_graphs(self, graphs: dict[str, list[Triple]]) -> None:
        """Write several named graphs in one transaction (replacing graphs of the same names)."""

    def drop_graphs(self, names: list[str]) -> None:
        """Remove these named graphs (each absent one is ignored)."""

    def query(self, sparql: str, timeout: float, row_cap: int) -> QueryOutcome:
        """Run a read-only query over the union of the named graphs."""

    def sparql(self, request: SparqlRequest, limits: SparqlLimits) -> SparqlAnswer:
        """Answer a client's SPARQL query, serialized, within the limits (the public endpoint)."""

    def graph(self, iri: str) -> list[Triple] | None:
        """The triples of a named graph, or None when it does not exist."""

    def graph_names(self, prefix: str) -> list[str]:
        """Names of the named graphs whose IRI starts with the prefix."""

    def close(self) -> None:
        """Release the store."""
