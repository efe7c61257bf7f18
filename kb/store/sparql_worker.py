"""A SPARQL worker process: answers client queries on a read-only snapshot of the store, offline.

The worker first leaves the network (``kb.store.sandbox``), then serves requests from its pipe
one at a time: ``(snapshot directory, SparqlRequest, SparqlLimits)`` in, a reply tuple out. It
opens the snapshot read-only (reopening when the parent names a newer one), checks the text with
the linear scan, lets Oxigraph parse and evaluate the query, and serializes the result into a
bounded buffer. The parent enforces the time limit by killing the process. A worker that grew
large (a huge intermediate result) exits after replying, and the parent starts a fresh one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
from multiprocessing.connection import Connection
from typing import Any

from kb.gc_settle import settle
from kb.proc_name import SPARQL_WORKER, set_process_name
from kb.store.base import (
    NotAcceptableError,
    QueryRefusedError,
    ResultTooLargeError,
    RowCapExceededError,
    SparqlLimits,
    SparqlRequest,
)
from kb.store.sandbox import SandboxError, enter_network_sandbox

RECYCLE_RSS_BYTES = 512 * 1024 * 1024
SYNTAX_POSITION = re.compile(r"error at (\d+):(\d+)(?:: (.*))?", re.S)
NETWORK_ERRORS = ("os error 101", "network is unreachable", "os error 1)", "dns", "resolve", "connect")
RESULT_OFFER = "application/sparql-results+json, application/sparql-results+xml, text/csv, text/tab-separated-values"
GRAPH_OFFER = "text/turtle, application/ld+json, application/n-triples"

Reply = tuple[Any, ...]


def clean_syntax_error(message: str) -> str:
    """Oxigraph's syntax error as a short message: the position, and what was expected when that is short."""
    match = SYNTAX_POSITION.match(message.strip())
    if match is None:
        return "the query is not valid SPARQL 1.1" if "\n" in message or len(message) > 200 else message
    detail = f"SPARQL syntax error at line {match.group(1)}, column {match.group(2)}"
    expected = (match.group(3) or "").strip()
    if expected and len(expected) <= 100 and "\n" not in expected and "..=" not in expected:
        detail += f": {expected}"
    return detail


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def trim_heap() -> None:
    """Give the memory the C heap keeps after a snapshot was closed back to the system (glibc only).

    Closing a snapshot frees its RocksDB caches and table readers, but glibc keeps most of the freed
    pages; a worker that reopens a newer snapshot after every write would then grow with every
    snapshot it ever opened (measured: about twice as much as one open of the newest snapshot).
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


class OpenSnapshot:
    """The one read-only store snapshot a worker process has open. A newer snapshot closes the older
    one first (its only reference) and gives the C heap back before it opens."""

    def __init__(self) -> None:
        import pyoxigraph  # in the worker, after its sandbox is in place

        self._open_read_only: Any = pyoxigraph.Store.read_only
        self.store: Any = None
        self.path = ""
        self.opens = 0

    def use(self, snapshot: str) -> str | None:
        """Have ``snapshot`` open; the error text when it cannot be opened."""
        if snapshot == self.path:
            return None
        self.store = None
        trim_heap()
        try:
            self.store = self._open_read_only(snapshot)
        except OSError as exc:
            self.path = ""
            return f"the store snapshot could not be opened ({type(exc).__name__})"
        self.path = snapshot
        self.opens += 1
        return None


def answer(store: Any, request: SparqlRequest, limits: SparqlLimits) -> tuple[bytes, str]:
    """Run one request on an open store; raises the kb.store.base errors for refusals and limits."""
    import pyoxigraph as ox

    from kb.store.sparql_output import MEDIA_TYPE_OF, BoundedSink, capped, write_boolean, write_solutions, write_triples
    from kb.store.sparql_scan import UPDATE_REFUSED, check_text, looks_like_update
    from kb.store.terms import from_oxigraph

    protocol_graphs = len(request.default_graphs) + len(request.named_graphs)
    scanned = check_text(request.query, limits.max_nesting, limits.max_dataset_graphs, protocol_graphs, request.base_iri)
    # With protocol graphs, FROM / FROM NAMED are overridden (SPARQL 1.1 Protocol 2.1.4), so only those count.
    named = (*request.default_graphs, *request.named_graphs) if protocol_graphs else scanned.dataset_iris
    for iri in named:
        if not store.contains_named_graph(ox.NamedNode(iri)):
            raise QueryRefusedError(400, "Graph not in the store", f"<{iri}> names no graph in this store; nothing is fetched")
    options: dict[str, Any] = {"base_iri": request.base_iri}
    if protocol_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs] or ox.DefaultGraph()
        options["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
    elif not scanned.dataset_clauses:
        # The endpoint's dataset; a query with FROM / FROM NAMED gets the dataset it names instead.
        options["use_default_graph_as_union"] = True
    try:
        result = store.query(request.query, **options)
    except SyntaxError as exc:
        if looks_like_update(scanned):
            raise QueryRefusedError(400, "Updates are refused", UPDATE_REFUSED) from None
        raise QueryRefusedError(400, "Malformed query", clean_syntax_error(str(exc))) from None
    sink = BoundedSink(limits.max_response_bytes)
    try:
        if isinstance(result, ox.QueryBoolean):
            if request.result_format is None:
                raise NotAcceptableError(f"this query's result is available as {RESULT_OFFER}")
            write_boolean(sink, bool(result), request.result_format)
            return sink.getvalue(), MEDIA_TYPE_OF[request.result_format]
        if isinstance(result, ox.QuerySolutions):
            if request.result_format is None:
                raise NotAcceptableError(f"this query's results are available as {RESULT_OFFER}")
            variables = tuple(v.value for v in result.variables)
            rows = (
                tuple(None if solution[v] is None else from_oxigraph(solution[v]) for v in variables)
                for solution in capped(result, limits.row_cap, "rows")
            )
            write_solutions(sink, variables, rows, request.result_format)
            return sink.getvalue(), MEDIA_TYPE_OF[request.result_format]
        if request.graph_format is None:
            raise NotAcceptableError(f"this query's results are available as {GRAPH_OFFER}")
        write_triples(sink, capped(result, limits.row_cap, "triples"), request.graph_format)
        return sink.getvalue(), MEDIA_TYPE_OF[request.graph_format]
    except OSError as exc:
        if any(word in str(exc).lower() for word in NETWORK_ERRORS):
            raise QueryRefusedError(400, "SERVICE is refused", "this endpoint never reaches the network") from None
        raise


def _reply(store: Any, request: SparqlRequest, limits: SparqlLimits) -> Reply:
    try:
        body, media_type = answer(store, request, limits)
        return ("ok", body, media_type)
    except QueryRefusedError as exc:
        return ("refused", exc.status, exc.title, exc.detail)
    except ResultTooLargeError as exc:
        return ("too_large", str(exc))
    except RowCapExceededError as exc:
        return ("row_cap", str(exc))
    except NotAcceptableError as exc:
        return ("not_acceptable", str(exc))
    except RecursionError:
        return ("refused", 400, "Query nested too deeply", "the query is nested too deeply to be evaluated")
    except Exception as exc:
        # Never the error's text: it is not needed by the client and must not carry anything fetched.
        return ("error", f"the query could not be evaluated ({type(exc).__name__})")


def serve(  # pragma: no cover - runs in the worker process
    conn: Connection, require_sandbox: bool, max_rss_bytes: int = RECYCLE_RSS_BYTES, max_opens: int = 0
) -> None:
    set_process_name(SPARQL_WORKER)
    try:
        how = f"isolated from the network by {enter_network_sandbox()}"
    except SandboxError as exc:
        if require_sandbox:
            conn.send(("fatal", str(exc)))
            return
        how = f"NOT isolated from the network ({exc})"
    opened = OpenSnapshot()
    settle()
    conn.send(("ready", how))
    while True:
        try:
            snapshot, request, limits = conn.recv()
        except (EOFError, OSError):
            break
        error = opened.use(snapshot)
        if error is not None:
            conn.send((False, ("error", error)))
            continue
        reply = _reply(opened.store, request, limits)
        leaving = reply[0] == "too_large" or rss_bytes() > max_rss_bytes or 0 < max_opens <= opened.opens
        conn.send((leaving, reply))
        if leaving:
            break
