"""Embedded Oxigraph (pyoxigraph) on disk, owned by a child process so queries can be stopped.

pyoxigraph's ``query`` cannot be interrupted from Python, so the store lives in a child process
that is the only one to open the database (the writer). The parent sends it one request at a time;
when a request runs past its time limit the parent kills the child and starts a new one on the same
directory. Writes are single Oxigraph transactions (``Store.extend``): a write is either wholly in
the database or not at all, also when the process is killed, and a write is only acknowledged
after the transaction has committed.

The writer only writes and makes snapshots; no read queues behind it. Reads run in two pools of
killable processes (``kb.store.read_pool``), each opening a read-only *snapshot*: a RocksDB
checkpoint the writer makes with ``Store.backup`` (hard links after a flush) into
``<store>.snapshots/`` (``kb.store.snapshots``: how often, which one a read may use, when one is
deleted). Client SPARQL queries run in the SPARQL workers, without network access; the service's
own reads (``graph``, ``graph_names``, ``query``) in the store readers
(``kb.store.store_reader``). Oxigraph documents read-only opening of a directory another process
writes as undefined behaviour; a checkpoint is never written again, so readers only ever open those.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kb.gc_settle import settle
from kb.proc_name import STORE_WRITER, set_process_name
from kb.store import oxigraph_reads, store_reader
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
from kb.store.read_pool import DEFAULT_MAX_RSS_BYTES, ReadPool
from kb.store.sandbox import SandboxError, enter_network_sandbox
from kb.store.snapshots import Snapshots
from kb.store.terms import to_oxigraph

WRITE_TIMEOUT_SECONDS = 120.0
START_TIMEOUT_SECONDS = 60.0
READ_QUEUE_LENGTH = 256  # reads waiting for a store reader (the service's own threads bound them first)


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
    settle()
    conn.send(("ready", None))
    handlers: dict[str, Callable[..., Any]] = {
        "put": _put, "drop": _drop, "backup": _backup, "graph": oxigraph_reads.graph,
    }
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            break
        try:
            conn.send(("ok", handlers[op](store, *args)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class EmbeddedStore:
    """An on-disk Oxigraph store in a child process; see the module docstring."""

    sole_writer = True  # the database lock admits one writer process

    def __init__(
        self,
        path: Path,
        workers: int = 2,
        queue_length: int = 8,
        require_sandbox: bool = True,
        readers: int = 2,
        snapshot_interval: float = 0.1,
        reader_max_rss_bytes: int = DEFAULT_MAX_RSS_BYTES,
        reader_max_opens: int = 0,
    ) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._start()
        self.snapshots = Snapshots(path.with_name(path.name + ".snapshots"), self._backup, snapshot_interval)
        self._pool_lock = threading.Lock()
        self._pool: ReadPool | None = None
        self._readers: ReadPool | None = None
        self._pool_settings = (workers, queue_length, require_sandbox)
        self._reader_settings = (readers, reader_max_rss_bytes, reader_max_opens)

    def _backup(self, target: str) -> None:
        self._call("backup", (target,), WRITE_TIMEOUT_SECONDS)

    def _read_pool(self) -> ReadPool:
        with self._pool_lock:
            if self._pool is None:
                workers, queue_length, require_sandbox = self._pool_settings
                _, max_rss, max_opens = self._reader_settings
                self._pool = ReadPool(
                    workers, queue_length, require_sandbox, self.snapshots, max_rss_bytes=max_rss, max_opens=max_opens
                )
            return self._pool

    def _reader_pool(self) -> ReadPool:
        with self._pool_lock:
            if self._readers is None:
                readers, max_rss, max_opens = self._reader_settings
                self._readers = ReadPool(
                    readers, READ_QUEUE_LENGTH, False, self.snapshots, target=store_reader.serve,
                    max_rss_bytes=max_rss, max_opens=max_opens, role="store reader",
                )
            return self._readers

    def start_sparql_workers(self) -> None:
        """Start the SPARQL workers and the store readers now rather than at the first request."""
        self._read_pool()
        self._reader_pool()

    def reader_pids(self) -> list[int]:
        """Process ids of the store readers and the SPARQL workers (for tests)."""
        return [*self._reader_pool().pids(), *self._read_pool().pids()]

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
        raise StoreError(detail)

    def put_graphs(self, graphs: dict[str, list[Triple]]) -> None:
        try:
            self._call("put", (graphs,), WRITE_TIMEOUT_SECONDS)
        finally:
            self.snapshots.note_write(graphs)

    def drop_graphs(self, names: list[str]) -> None:
        try:
            self._call("drop", (names,), WRITE_TIMEOUT_SECONDS)
        finally:
            self.snapshots.note_write(names)

    def sparql(self, request: SparqlRequest, limits: SparqlLimits) -> SparqlAnswer:
        return self._read_pool().run(request, limits)

    def _read(self, op: str, args: tuple[Any, ...], timeout: float, generation: int) -> Any:
        """One read by a store reader on a snapshot of at least ``generation`` writes."""
        status, detail = self._reader_pool().exchange((op, args), timeout, generation)
        if status == "ok":
            return detail
        if status == "syntax":
            raise QuerySyntaxError(detail)
        if status == "rowcap":
            raise RowCapExceededError(detail)
        raise StoreError(detail)

    def query(self, sparql: str, timeout: float, row_cap: int) -> QueryOutcome:
        """Run a query on a snapshot that holds every write acknowledged before the call."""
        outcome = self._read("query", (sparql, row_cap), timeout, self.snapshots.written())
        assert isinstance(outcome, QueryOutcome)
        return outcome

    def graph(self, iri: str) -> list[Triple] | None:
        """The graph as every write acknowledged before the call left it: from the newest snapshot,
        unless a write touched this graph since that was asked for; then the writer answers it.

        The writer holds every acknowledged write, and one graph is a single index scan: answering
        it there costs less than what waiting for a new snapshot costs (the writer's flush and
        checkpoint, then a reader opening the snapshot), and a read of a determination just
        written (GET after its POST) waits for neither.
        """
        needed = self.snapshots.needed_for_graph(iri)
        if needed > self.snapshots.newest_generation():
            result = self._call("graph", (iri,), WRITE_TIMEOUT_SECONDS)
        else:
            result = self._read("graph", (iri,), WRITE_TIMEOUT_SECONDS, needed)
        return None if result is None else list(result)

    def graph_names(self, prefix: str) -> list[str]:
        needed = self.snapshots.needed_for_prefix(prefix)
        return list(self._read("names", (prefix,), WRITE_TIMEOUT_SECONDS, needed))

    def writer_alive(self) -> bool:
        """Whether the store writer process is running (it is restarted at the next write if not)."""
        process = self._process
        return process is not None and process.is_alive()

    def close(self) -> None:
        for pool in (self._pool, self._readers):
            if pool is not None:
                pool.close()
        self.snapshots.close()
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # the child sees EOF and exits after its current request
            if self._process is not None:
                self._process.join(10)
                if self._process.is_alive():
                    self._process.kill()
            self._process = self._conn = None
