"""Garbage collection while a chunk is decided: on the chunk's own thread only.

A chunk's reference cycles may hold Oxigraph objects, which must be freed on the thread that made
them; Python's automatic collector runs on whichever thread happens to allocate (a Dask worker's
event loop, for one). So while a chunk is decided the automatic collector is off in the whole
process (``chunk_collection``), the chunk collects its young generations itself between cases
(``collect_young_if_due``, so memory stays as with the automatic collector), and one full collection
on its thread ends it. The chunks of one process run one at a time: threads would not decide them
faster (the work holds the interpreter lock), and no chunk's collection may free another's objects.

A chunk validated set-based leaves little garbage in reference cycles (pySHACL, which leaves much,
runs only for the few cases it checks), while each young collection walks every object the chunk
made since the last one: such a chunk asks for no young collections (``young=False``), and its full
collection at the end frees its cycles. What waits for it is bounded by the chunk size
(docs/benchmark.md gives the figures).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Young generations are collected once this many objects were allocated (net) since the last time.
YOUNG_ALLOCATIONS = 50_000
_ONE_CHUNK_AT_A_TIME = threading.Lock()
_young = True  # whether the chunk being decided collects its young generations between cases


@contextmanager
def chunk_collection(*, young: bool = True) -> Iterator[None]:
    """The automatic collector off for the block, one chunk at a time, a full collection at its end;
    ``young=False``: no collection of the young generations between cases either."""
    global _young
    with _ONE_CHUNK_AT_A_TIME:
        enabled = gc.isenabled()
        gc.disable()
        _young = young
        try:
            yield
        finally:
            _young = True
            gc.collect()
            if enabled:
                gc.enable()


def collect_young_if_due() -> None:
    """Collect the young generations on this thread if the chunk asks for it and enough was
    allocated since they last were."""
    if _young and gc.get_count()[0] > YOUNG_ALLOCATIONS:
        gc.collect(1)
