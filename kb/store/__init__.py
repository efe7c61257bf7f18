"""RDF stores: embedded Oxigraph (default) or an external SPARQL 1.1 server.

Both keep the ontology, the shapes, each case, each SHACL report and each determination in named
graphs; queries see the union of the named graphs as their default graph.
"""

from kb.store.base import (
    QueryOutcome,
    QueryTimeoutError,
    RowCapExceededError,
    Store,
    StoreError,
)

__all__ = ["QueryOutcome", "QueryTimeoutError", "RowCapExceededError", "Store", "StoreError"]
