"""Garbage collection while a chunk is decided: on the chunk's own thread only.

A chunk's reference cycles may hold Oxigraph objects, which must be freed on the thread that made
them; Python's automatic collector runs on whichever thread happens to allocate (a Dask worker's
event loop, for one). So while a chunk is decided the automatic collector is off in the whole
process (``chunk_collection``), the chunk collects its young generations itself between cases
(``collect_young_if_due``, so memory stays as with the automatic collector), and one full collection
on its thread ends it. The chunks of one process run one at a time: threads would not decide them
faster (the work holds the interpreter lock), and no chunk's collection may free another's objects.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Young generations are collected once this many objects were allocated (net) since the last time.
YOUNG_ALLOCATIONS = 50_000
_ONE_CHUNK_AT_A_TIME = threading.Lock()


@contextmanager
def chunk_collection() -> Iterator[None]:
    """The automatic collector off for the block, one chunk at a time, a full collection at its end."""
    with _ONE_CHUNK_AT_A_TIME:
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            gc.collect()
            if enabled:
                gc.enable()


def collect_young_if_due() -> None:
    """Collect the young generations on this thread if enough was allocated since they last were."""
    if gc.get_count()[0] > YOUNG_ALLOCATIONS:
        gc.collect(1)
