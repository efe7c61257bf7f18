"""Embedded Oxigraph (pyoxigraph) on disk, owned by a child process so queries can be stopped.

pyoxigraph's ``query`` cannot be interrupted from Python, so the store lives in a child process
that is the only one to open the database (the writer). The parent sends it one request at a time;
when a request runs past its time limit the parent kills the child and starts a new one on the same
directory. Writes are single Oxigraph transactions (``Store.extend``): a write is either wholly in
the database or not at all, also when the process is killed, and a write is only acknowledged
after the transaction has committed.

Client SPARQL queries never reach the writer. They run in a pool of worker processes
(``kb.store.read_pool``) without network access, each opening a read-only *snapshot*: a RocksDB
checkpoint the writer makes with ``Store.backup`` (hard links, a few milliseconds) into
``<store>.snapshots/``. Oxigraph documents read-only opening of a directory another process writes
as undefined behaviour; a checkpoint is never written again, so readers only ever open those. A
new snapshot is made when a query arrives after a write, so every query sees each write
acknowledged before it; snapshots no worker holds any more are deleted.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import shutil
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kb.proc_name import STORE_WRITER, set_process_name
from kb.store.base import (
    QueryOutcome,
    QuerySyntaxError,
    QueryTimeoutError,
    RowCapExceededError,
    SparqlAnswer,
    SparqlLimits,
    SparqlRequest,
    StoreError,
    Triple,
)
from kb.store.read_pool import ReadPool
from kb.store.sandbox import SandboxError, enter_network_sandbox
from kb.store.terms import WireTerm, from_oxigraph, to_oxigraph

WRITE_TIMEOUT_SECONDS = 120.0
START_TIMEOUT_SECONDS = 60.0


class _RowCap(Exception):
    pass


def _put(store: Any, graphs: dict[str, list[Triple]]) -> None:
    quads = [
        ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), ox.NamedNode(name))
        for name, triples in graphs.items()
        for s, p, o in triples
    ]
    store.extend(quads)


def _drop(store: Any, names: list[str]) -> None:
    for name in names:
        node = ox.NamedNode(name)
        if store.contains_named_graph(node):
            store.remove_graph(node)


def _query(store: Any, sparql: str, row_cap: int) -> QueryOutcome:
    try:
        result = store.query(sparql, use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise QuerySyntaxError(str(exc)) from exc
    if isinstance(result, ox.QueryBoolean):
        return QueryOutcome(kind="ask", boolean=bool(result))
    if isinstance(result, ox.QuerySolutions):
        variables = tuple(v.value for v in result.variables)
        rows: list[tuple[WireTerm | None, ...]] = []
        for solution in result:
            if len(rows) >= row_cap:
                raise _RowCap(f"the result has more than {row_cap} rows")
            rows.append(tuple(None if solution[v] is None else from_oxigraph(solution[v]) for v in variables))
        return QueryOutcome(kind="select", variables=variables, rows=tuple(rows))
    triples: list[Triple] = []
    for triple in result:
        if len(triples) >= row_cap:
            raise _RowCap(f"the result has more than {row_cap} triples")
        triples.append((from_oxigraph(triple.subject), from_oxigraph(triple.predicate), from_oxigraph(triple.object)))
    return QueryOutcome(kind="graph", triples=tuple(triples))


def _graph(store: Any, name: str) -> list[Triple] | None:
    node = ox.NamedNode(name)
    if not store.contains_named_graph(node):
        return None
    return [
        (from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
        for q in store.quads_for_pattern(None, None, None, node)
    ]


def _graph_names(store: Any, prefix: str) -> list[str]:
    return sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g.value.startswith(prefix))


def _backup(store: Any, target: str) -> None:
    store.backup(target)


def _serve(path: str, conn: Connection) -> None:  # pragma: no cover - runs in the child process
    set_process_name(STORE_WRITER)
    with contextlib.suppress(SandboxError):
        enter_network_sandbox()  # it evaluates only the service's own queries, but needs no network either
    try:
        store = ox.Store(path)
    except OSError as exc:
        conn.send(("error", f"cannot open the store at {path}: {exc}"))
        return
    conn.send(("ready", None))
    handlers: dict[str, Callable[..., Any]] = {
        "put": _put,
        "drop": _drop,
        "query": _query,
        "graph": _graph,
        "names": _graph_names,
        "backup": _backup,
    }
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            break
        try:
            conn.send(("ok", handlers[op](store, *args)))
        except QuerySyntaxError as exc:
            conn.send(("syntax", str(exc)))
        except _RowCap as exc:
            conn.send(("rowcap", str(exc)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class EmbeddedStore:
    """An on-disk Oxigraph store in a child process; see the module docstring."""

    def __init__(
        self, path: Path, workers: int = 2, queue_length: int = 8, require_sandbox: bool = True
    ) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._start()
        self.snapshots = path.with_name(path.name + ".snapshots")
        shutil.rmtree(self.snapshots, ignore_errors=True)
        self.snapshots.mkdir(parents=True)
        self._writes = itertools.count(1)
        self._generation = 0  # counts writes; a snapshot is current when made at the same count
        self._snapshot_lock = threading.Lock()
        self._snapshot: tuple[int, str] | None = None
        self._names = itertools.count()
        self._pool: ReadPool | None = None
        self._pool_settings = (workers, queue_length, require_sandbox)

    def _current_snapshot(self) -> str:
        """The newest snapshot, made now if a write happened since the last one."""
        with self._snapshot_lock:
            generation = self._generation
            if self._snapshot is None or self._snapshot[0] != generation:
                target = self.snapshots / f"{next(self._names):08d}"
                self._call("backup", (str(target),), WRITE_TIMEOUT_SECONDS)
                self._snapshot = (generation, str(target))
                self._collect_snapshots()
            return self._snapshot[1]

    def _collect_snapshots(self) -> None:
        keep = {self._snapshot[1]} if self._snapshot else set()
        if self._pool is not None:
            keep |= self._pool.snapshots_in_use()
        for directory in self.snapshots.iterdir():
            if str(directory) not in keep:
                shutil.rmtree(directory, ignore_errors=True)

    def _read_pool(self) -> ReadPool:
        with self._snapshot_lock:
            if self._pool is None:
                workers, queue_length, require_sandbox = self._pool_settings
                self._pool = ReadPool(workers, queue_length, require_sandbox, self._current_snapshot)
            return self._pool

    def start_sparql_workers(self) -> None:
        """Start the SPARQL worker pool now rather than at the first query."""
        self._read_pool()

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(str(self.path), child), daemon=True)
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT_SECONDS):
            process.kill()
            raise StoreError(f"the store at {self.path} did not open within {START_TIMEOUT_SECONDS:.0f} s")
        try:
            status, detail = parent.recv()
        except EOFError:
            process.join(5)
            raise StoreError(f"the store process for {self.path} exited while starting") from None
        if status != "ready":
            process.join(5)
            raise StoreError(str(detail))
        self._process, self._conn = process, parent

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(10)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def _call(self, op: str, args: tuple[Any, ...], timeout: float) -> Any:
        with self._lock:
            if self._conn is None:
                self._start()
            assert self._conn is not None
            try:
                self._conn.send((op, args))
                ready = self._conn.poll(timeout)
            except (OSError, EOFError) as exc:
                self._stop()
                raise StoreError(f"the store process stopped: {exc}") from exc
            if not ready:
                # The only way to stop a running Oxigraph query: end the process that runs it.
                self._stop()
                self._start()
                raise QueryTimeoutError(f"the {op} ran past {timeout:g} s and was stopped")
            try:
                status, detail = self._conn.recv()
            except (OSError, EOFError) as exc:
                self._stop()
                raise StoreError(f"the store process stopped: {exc}") from exc
        if status == "ok":
            return detail
        if status == "syntax":
            raise QuerySyntaxError(detail)
        if status == "rowcap":
            raise RowCapExceededError(detail)
        raise StoreError(detail)

    def put_graphs(self, graphs: dict[str, list[Triple]]) -> None:
        try:
            self._call("put", (graphs,), WRITE_TIMEOUT_SECONDS)
        finally:
            self._generation = next(self._writes)

    def drop_graphs(self, names: list[str]) -> None:
        try:
            self._call("drop", (names,), WRITE_TIMEOUT_SECONDS)
        finally:
            self._generation = next(self._writes)

    def sparql(self, request: SparqlRequest, limits: SparqlLimits) -> SparqlAnswer:
        pool = self._read_pool()
        return pool.run(request, limits)

    def query(self, sparql: str, timeout: float, row_cap: int) -> QueryOutcome:
        outcome = self._call("query", (sparql, row_cap), timeout)
        assert isinstance(outcome, QueryOutcome)
        return outcome

    def graph(self, iri: str) -> list[Triple] | None:
        result = self._call("graph", (iri,), WRITE_TIMEOUT_SECONDS)
        return None if result is None else list(result)

    def graph_names(self, prefix: str) -> list[str]:
        return list(self._call("names", (prefix,), WRITE_TIMEOUT_SECONDS))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        shutil.rmtree(self.snapshots, ignore_errors=True)
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # the child sees EOF and exits after its current request
            if self._process is not None:
                self._process.join(10)
                if self._process.is_alive():
                    self._process.kill()
            self._process = self._conn = None
