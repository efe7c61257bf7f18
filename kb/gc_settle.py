"""Keeping what a process builds at start-up out of its later garbage collections.

A process of the service (the API process, a case worker, the store writer, a store reader, a
SPARQL worker) builds at start-up what it keeps for its whole life: imported modules, the loaded
knowledge, the index of determinations. A full collection walks every tracked object; in the API
process that is about 200,000 objects and 110 ms, during which no request is answered. Frozen
(``gc.freeze``), those objects are left out of every later collection, which then walks only what
requests create.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left as garbage, then freeze everything still alive."""
    gc.collect()
    gc.freeze()


def unsettle() -> None:
    """Put the frozen objects back under the collector (an application stopped in a process that goes on)."""
    gc.unfreeze()
