"""Read-only snapshots of the embedded store: which one a read may use, how often one is made, when one goes.

A snapshot is a RocksDB checkpoint the store writer makes with ``Store.backup`` into its own
directory (hard links to the immutable table files, after a flush of the write buffers). Readers
(``kb.store.read_pool``: the SPARQL workers and the store readers) open snapshots read-only; a
snapshot is never written again, so that is safe while the writer goes on.

- **Generations.** Every acknowledged write counts one; a snapshot records the count at the moment
  it was asked for, so it holds at least that many writes. A read that must see every write
  acknowledged before it began asks for a snapshot of at least ``written()`` taken at its start.
- **Rate.** At most one snapshot is made per ``interval`` seconds. A read that needs a newer
  snapshot than the newest one waits for the next one, which one waiting reader makes for all of
  them; the others only wait. Each snapshot costs the writer a flush, so the bound also keeps the
  number of small table files (and the compactions they cause) down under a steady stream of writes.
- **Graphs touched.** Each write also names the graphs it changed. A read of one graph (or of the
  graph names under a prefix) needs a newer snapshot only when a write touched that graph after
  the newest snapshot was asked for; otherwise the newest one holds it exactly. So a read of a
  determination written a while ago never waits, and one written just now waits for the next
  snapshot: every read sees every write acknowledged before it.
- **Leases.** ``acquire`` counts a reader on the snapshot it returns and ``release`` uncounts it; a
  snapshot that no reader holds and that is not the newest is deleted at once.
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kb.store.base import StoreError

MAX_TRACKED_GRAPHS = 10_000


class SnapshotTimeoutError(StoreError):
    """No snapshot recent enough for the read was ready before its deadline."""


@dataclass
class _Snapshot:
    path: str
    generation: int
    holders: int = 0


class Snapshots:
    """The snapshots in ``directory``, made by ``make(target_directory)`` (the writer's backup)."""

    def __init__(self, directory: Path, make: Callable[[str], None], interval: float) -> None:
        self.directory = directory
        self.interval = interval
        self._make = make
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self._cond = threading.Condition()
        self._written = 0
        self._touched: dict[str, int] = {}  # graph name -> generation of its last write, since the newest snapshot
        self._floor = 0  # when the names were too many to keep: the generation every graph read needs
        self._newest: _Snapshot | None = None
        self._all: dict[str, _Snapshot] = {}
        self._making = False
        self._last_made = float("-inf")
        self._names = itertools.count()
        self.made = 0  # snapshots made over the store's life

    def written(self) -> int:
        """Writes acknowledged so far: a read that must see them needs a snapshot of at least this generation."""
        with self._cond:
            return self._written

    def note_write(self, graphs: Iterable[str]) -> None:
        """Count an acknowledged write that changed (wrote or dropped) these named graphs."""
        with self._cond:
            self._written += 1
            for name in graphs:
                self._touched[name] = self._written
            if len(self._touched) > MAX_TRACKED_GRAPHS:
                # Many writes and no read since the newest snapshot (a bulk load): stop naming graphs,
                # and have every read of a graph wait for a snapshot holding these writes.
                self._touched.clear()
                self._floor = self._written

    def needed_for_graph(self, name: str) -> int:
        """The generation a snapshot needs to hold the graph as every acknowledged write left it.

        0 when no write touched the graph since the newest snapshot was asked for: that snapshot
        holds the graph (or its absence) exactly, and a read of it needs no new snapshot.
        """
        with self._cond:
            return max(self._touched.get(name, 0), self._floor)

    def needed_for_prefix(self, prefix: str) -> int:
        """As ``needed_for_graph``, for the names of the graphs whose IRI starts with ``prefix``."""
        with self._cond:
            return max((g for name, g in self._touched.items() if name.startswith(prefix)), default=self._floor)

    def newest_generation(self) -> int:
        """The generation of the newest snapshot (-1 before the first)."""
        with self._cond:
            return self._newest.generation if self._newest is not None else -1

    def acquire(self, generation: int, deadline: float) -> tuple[str, int]:
        """A snapshot holding at least ``generation`` writes (counted as held) and its generation.

        The newest snapshot when it is recent enough, else the next one made; ``generation`` 0
        takes whatever snapshot is newest. Raises SnapshotTimeoutError when none is ready by the
        deadline (``time.monotonic()``), and the writer's error when making one fails.
        """
        with self._cond:
            while True:
                newest = self._newest
                if newest is not None and newest.generation >= generation:
                    newest.holders += 1
                    return newest.path, newest.generation
                if not self._making:
                    self._making = True
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SnapshotTimeoutError("no snapshot of the store was ready in time for this read")
                self._cond.wait(remaining)
        made: _Snapshot | None = None
        try:
            made = self._make_one()
        finally:
            with self._cond:
                self._making = False
                if made is not None:
                    made.holders += 1
                self._cond.notify_all()
            self._collect()
        assert made is not None
        return made.path, made.generation

    def _make_one(self) -> _Snapshot:
        """Wait for the rate bound, then have the writer make a snapshot (called by one reader at a time)."""
        pause = self._last_made + self.interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        with self._cond:
            generation = self._written
        target = self.directory / f"{next(self._names):08d}"
        try:
            self._make(str(target))
        finally:
            self._last_made = time.monotonic()
        snapshot = _Snapshot(str(target), generation)
        with self._cond:
            self._all[snapshot.path] = snapshot
            self._newest = snapshot
            self.made += 1
            self._touched = {name: g for name, g in self._touched.items() if g > generation}
            if self._floor <= generation:
                self._floor = 0
        return snapshot

    def release(self, path: str) -> None:
        """A reader no longer holds this snapshot (it closed it or opened a newer one)."""
        with self._cond:
            snapshot = self._all.get(path)
            if snapshot is not None and snapshot.holders > 0:
                snapshot.holders -= 1
        self._collect()

    def _collect(self) -> None:
        with self._cond:
            unused = [
                s for s in self._all.values() if s.holders == 0 and s is not self._newest
            ]
            for snapshot in unused:
                del self._all[snapshot.path]
        for snapshot in unused:
            shutil.rmtree(snapshot.path, ignore_errors=True)

    def on_disk(self) -> list[str]:
        """The snapshot directories present (for tests)."""
        return sorted(str(p) for p in self.directory.iterdir())

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
