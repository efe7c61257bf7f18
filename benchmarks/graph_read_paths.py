"""Time of a read of one graph right after its write: through a new snapshot, or from the writer.

Usage: python benchmarks/graph_read_paths.py [--graphs 300] [--reads 40]

An embedded store (two store readers, snapshots at most every 100 ms, as the service's defaults)
receives ``--graphs`` graphs of about a determination's size. Then, ``--reads`` times, a graph is
written and read back at once, first through the store readers on a snapshot holding the write
(what a read of a just-written graph used to wait for), then by ``EmbeddedStore.graph`` (which
has the writer answer a graph written since the newest snapshot). Median and maximum are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from kb.store.base import Triple
from kb.store.embedded import WRITE_TIMEOUT_SECONDS, EmbeddedStore

GRAPH = "https://w3id.org/ipkg/benchmark/graph/"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
SUBJECT = ("u", "https://w3id.org/ipkg/benchmark/s")
PREDICATE = ("u", "https://w3id.org/ipkg/benchmark/p")


def _triples(count: int) -> list[Triple]:
    return [(SUBJECT, PREDICATE, ("l", str(i), XSD_STRING, "")) for i in range(count)]


def _summary(name: str, seconds: list[float]) -> str:
    return f"{name}: median {1000 * statistics.median(seconds):.1f} ms, max {1000 * max(seconds):.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--graphs", type=int, default=300)
    parser.add_argument("--reads", type=int, default=40)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        store = EmbeddedStore(Path(directory) / "store", workers=1, readers=2, require_sandbox=False)
        try:
            store.start_sparql_workers()
            for n in range(options.graphs):
                store.put_graphs({f"{GRAPH}{n}": _triples(200)})
            through_snapshot: list[float] = []
            from_writer: list[float] = []
            for n in range(options.reads):
                name = f"{GRAPH}new/{n}"
                store.put_graphs({name: _triples(20)})
                started = time.monotonic()
                store._read("graph", (name,), WRITE_TIMEOUT_SECONDS, store.snapshots.written())
                through_snapshot.append(time.monotonic() - started)
                store.put_graphs({f"{name}/again": _triples(20)})
                started = time.monotonic()
                store.graph(f"{name}/again")
                from_writer.append(time.monotonic() - started)
            print(_summary("read through a new snapshot", through_snapshot))
            print(_summary("read from the writer", from_writer))
        finally:
            store.close()


if __name__ == "__main__":
    main()
