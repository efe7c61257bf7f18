"""Memory of a snapshot reader that reopens a newer snapshot after every write, with and without trimming.

Usage: python benchmarks/snapshot_memory.py [--snapshots 200] [--graphs-per-snapshot 4]

A writer store receives graphs of about a determination's size; after each batch it makes a
snapshot (``Store.backup``), and a reader process opens it read-only and runs one query, closing
the snapshot it had, as the store readers and SPARQL workers do. The reader's resident memory is
printed for three readers: one that reopens without giving the C heap back, one that calls
``kb.store.sparql_worker.trim_heap`` after closing each snapshot (what the workers do), and one
that opens only the last snapshot once (the memory the data itself needs).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from kb.store.sparql_worker import rss_bytes, trim_heap

QUERY = "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p"
MIB = 1024 * 1024


def _reader(conn: Connection, trim: bool) -> None:
    store = None
    while True:
        snapshot = conn.recv()
        if snapshot is None:
            break
        store = None
        if trim:
            trim_heap()
        store = ox.Store.read_only(snapshot)
        result = store.query(QUERY, use_default_graph_as_union=True)
        assert isinstance(result, ox.QuerySolutions)
        list(result)
        conn.send(rss_bytes())


def _graph(store: ox.Store, n: int) -> None:
    graph = ox.NamedNode(f"https://w3id.org/ipkg/bench/graph/{n}")
    store.extend(
        ox.Quad(
            ox.NamedNode(f"https://w3id.org/ipkg/bench/{n}/{i % 50}"),
            ox.NamedNode(f"https://w3id.org/ipkg/bench/p{i % 30}"),
            ox.Literal(f"value {random.random()}"),
            graph,
        )
        for i in range(600)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--graphs-per-snapshot", type=int, default=4)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    readers = {}
    for name, trim in (("reopen", False), ("reopen + trim_heap", True), ("last snapshot only", True)):
        parent, child = context.Pipe()
        process = context.Process(target=_reader, args=(child, trim), daemon=True)
        process.start()
        readers[name] = (process, parent)
    results: dict[str, list[float]] = {name: [] for name in readers}
    with tempfile.TemporaryDirectory(prefix="ipkg-snapmem-") as tmp:
        writer = ox.Store(str(Path(tmp) / "store"))
        previous: str | None = None
        written = 0
        for step in range(args.snapshots):
            for _ in range(args.graphs_per_snapshot):
                _graph(writer, written)
                written += 1
            snapshot = str(Path(tmp) / f"snapshot-{step:05d}")
            writer.backup(snapshot)
            last = step == args.snapshots - 1
            for name, (_, conn) in readers.items():
                if name == "last snapshot only" and not last:
                    continue
                conn.send(snapshot)
                results[name].append(conn.recv() / MIB)
            if previous is not None:
                shutil.rmtree(previous, ignore_errors=True)  # every reader has moved on to the newer one
            previous = snapshot
        for process, conn in readers.values():
            conn.send(None)
            process.join(10)
    summary = {
        "snapshots": args.snapshots,
        "graphs": written,
        "reader_rss_mib": {
            name: {"first": round(values[0], 1), "last": round(values[-1], 1)} for name, values in results.items()
        },
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
