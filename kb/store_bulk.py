"""Bulk copies of stored determinations under new IRIs: a large case base without deciding each case.

Copy ``k`` of a stored determination gets the ids ``{id}-r{k}`` (determination and case), its case
nodes ``{IRI}-r{k}`` and its blank nodes ``{label}-r{k}``; the IRIs of the ontology and of standard
vocabularies are kept. So a copy holds the same facts about new nodes, as if the same case had been
submitted again by another patient, and every query over the copies answers like the original,
scaled by the number of copies (rows about cases repeat per copy, counts multiply).

Usage (on a stopped service's store directory):
    .venv/bin/python -m kb.store_bulk var/store --copies 58
decides the example cases when the store holds no determination, then adds 58 copies of each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from kb.namespaces import CASE, DET
from kb.repository import counterfactuals_graph
from kb.store.base import Store, Triple
from kb.store.terms import WireTerm
from kb.store_layout import (
    GRAPH,
    case_graph,
    derived_graph,
    determination_graph_name,
    report_graph,
)

_DET = str(DET)
_CASE = str(CASE)
_CASE_GRAPH = GRAPH + "case/"
_IP_CASE_ID = "https://w3id.org/ipkg/ontology#caseId"
_IP_MACHINE_FORM = "https://w3id.org/ipkg/ontology#machineForm"


def copy_suffix(copy: int) -> str:
    return f"-r{copy}"


def _rewrite_iri(iri: str, suffix: str) -> str:
    if iri.startswith(_DET):
        # determination/{id} and determination/{id}/{criterion id}: the id gets the suffix
        det_id, slash, rest = iri[len(_DET) :].partition("/")
        return f"{_DET}{det_id}{suffix}{slash}{rest}"
    if iri.startswith((_CASE, GRAPH)):
        return iri + suffix
    return iri


def rewrite_term(term: WireTerm, suffix: str) -> WireTerm:
    """The term of the copy: case and determination IRIs and blank nodes renamed, others kept."""
    if term[0] == "u":
        return ("u", _rewrite_iri(term[1], suffix))
    if term[0] == "b":
        return ("b", term[1] + suffix)
    return term


def _rewrite_triple(triple: Triple, suffix: str) -> Triple:
    s, p, o = triple
    if p[1] == _IP_CASE_ID:
        return (rewrite_term(s, suffix), p, ("l", o[1] + suffix, o[2], o[3]))
    if p[1] == _IP_MACHINE_FORM:
        machine = json.loads(o[1])
        machine["id"] = machine["id"] + suffix
        machine["caseId"] = machine["caseId"] + suffix
        return (rewrite_term(s, suffix), p, ("l", json.dumps(machine, ensure_ascii=False), o[2], o[3]))
    return (rewrite_term(s, suffix), p, rewrite_term(o, suffix))


def determination_graphs(store: Store, det_id: str) -> dict[str, list[Triple]]:
    """The graphs of one stored determination (its case included, and its counterfactuals once computed)."""
    det = store.graph(determination_graph_name(det_id)) or []
    case_ids = [o[1] for _, p, o in det if p[1] == _IP_CASE_ID]
    names = [determination_graph_name(det_id), derived_graph(det_id), report_graph(det_id), counterfactuals_graph(det_id)]
    names += [case_graph(case_id) for case_id in case_ids]
    graphs: dict[str, list[Triple]] = {}
    for name in names:
        triples = store.graph(name)
        if triples is not None:
            graphs[name] = triples
    return graphs


def copies_of(graphs: dict[str, list[Triple]], copy: int) -> dict[str, list[Triple]]:
    suffix = copy_suffix(copy)
    return {_rewrite_iri(name, suffix): [_rewrite_triple(t, suffix) for t in triples] for name, triples in graphs.items()}


def stored_determination_ids(store: Store) -> list[str]:
    prefix = GRAPH + "determination/"
    return [name[len(prefix) :] for name in store.graph_names(prefix)]


def add_copies(store: Store, copies: Iterable[int], batch: int = 100, log: bool = False) -> int:
    """Write copy ``k`` of every stored determination for each ``k``; returns how many were written."""
    originals = [determination_graphs(store, det_id) for det_id in stored_determination_ids(store)]
    written = 0
    pending: dict[str, list[Triple]] = {}
    for copy in copies:
        for graphs in originals:
            pending.update(copies_of(graphs, copy))
            written += 1
            if written % batch == 0:
                store.put_graphs(pending)
                pending = {}
                if log:
                    print(f"\rcopies written: {written}", end="", file=sys.stderr, flush=True)
    if pending:
        store.put_graphs(pending)
    if log:
        print(f"\rcopies written: {written}", file=sys.stderr)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("store", type=Path, help="directory of the embedded store (the service must be stopped)")
    parser.add_argument("--copies", type=int, default=58, help="copies of each stored determination (default 58)")
    args = parser.parse_args(argv)

    from kb.examples import preload_examples
    from kb.knowledge import load_knowledge
    from kb.repository import Repository
    from kb.store.embedded import EmbeddedStore

    store = EmbeddedStore(args.store)
    try:
        repository = Repository(store, load_knowledge())
        repository.load_knowledge_graphs()
        if not stored_determination_ids(store):
            preload_examples(repository)
        started = time.monotonic()
        written = add_copies(store, range(1, args.copies + 1), log=True)
        total = len(stored_determination_ids(store))
        print(f"{written} copies in {time.monotonic() - started:.0f} s; the store holds {total} determinations")
    finally:
        store.close()


if __name__ == "__main__":
    main()
