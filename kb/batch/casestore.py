"""The in-memory rdflib store behind a batch case graph (``kb.batch.casegraph.CaseGraph``).

A case graph is small (a few hundred triples) and is read and written by pattern tens of thousands of
times per chunk: form checks, enrichment and the decision all walk it. rdflib's plain store
(``SimpleMemory``) holds the same three indexes, but tests each pattern term with ``!= None`` (a
Python-level comparison of rdflib terms), makes a fresh generator of contexts for every triple it
yields, and counts its triples one by one. ``CaseStore`` keeps the indexes (subject, predicate and
object first) and answers the same patterns with the same triples, in the same order, with identity
tests against ``None``, one shared empty iterator of contexts and a running count. Like
``SimpleMemory``, it keeps the inner indexes a removal empties, so the order stays rdflib's after
removals too (a case graph lives for one chunk).

``CaseStoreGraph`` is an rdflib ``Graph`` over a ``CaseStore`` whose ``add``, ``triples``,
``objects`` and ``subjects`` go straight to the store for rdflib terms and patterns of terms
(``match`` yields plain triples, without the per-triple tuple of contexts); anything else (a
property path, a term of another type) goes through rdflib's ``Graph`` as before, with its checks.
The batch engine's parsed cases (``kb.batch.casegraph.CaseGraph``) and its validation reports
(``kb.batch.setvalidation``) are such graphs.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any

from rdflib import BNode, Graph, Literal
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Identifier, URIRef

Triple = tuple[Any, Any, Any]
_Index = dict[Any, dict[Any, dict[Any, None]]]
_TERMS = frozenset((URIRef, BNode, Literal))  # the term types the store takes as they are
_NO_CONTEXTS: Iterator[Any] = iter(())  # always exhausted: a triple's contexts in a store without named graphs


def _drop(index: _Index, a: Any, b: Any, c: Any) -> None:
    # The emptied inner indexes stay, as in rdflib's plain store: a triple removed and added again
    # goes where it goes there, so patterns keep answering in rdflib's order.
    del index[a][b][c]


class CaseStore(SimpleMemory):
    """Triples in three nested indexes; no named graphs, no formulas (module docstring). Prefixes are
    bound as in rdflib's plain store, which this store extends."""

    def __init__(self, configuration: str | None = None, identifier: Identifier | None = None) -> None:
        super().__init__(configuration, identifier)
        self._spo: _Index = {}
        self._pos: _Index = {}
        self._osp: _Index = {}
        self._count = 0

    def add(self, triple: Triple, context: Any = None, quoted: bool = False) -> None:
        self.add_all((triple,))

    def add_all(self, triples: Iterable[Triple]) -> None:
        """Add each triple (once: a triple already held is left as it is)."""
        spo, pos, osp = self._spo, self._pos, self._osp
        for triple in triples:
            s, p, o = triple
            held = spo.get(s)
            if held is not None and o in held.get(p, ()):
                continue
            for index, first, second, third in ((spo, s, p, o), (pos, p, o, s), (osp, o, s, p)):
                inner = index.get(first)
                if inner is None:
                    inner = index[first] = {}
                innermost = inner.get(second)
                if innermost is None:
                    innermost = inner[second] = {}
                innermost[third] = None
            self._count += 1

    def remove(self, triple: Triple, context: Any = None) -> None:
        for s, p, o in list(self.match(triple)):
            _drop(self._spo, s, p, o)
            _drop(self._pos, p, o, s)
            _drop(self._osp, o, s, p)
            self._count -= 1

    def match(self, pattern: Triple) -> Iterator[Triple]:
        """The triples that match the pattern (``None`` matches any term)."""
        s, p, o = pattern
        if s is not None:
            by_predicate = self._spo.get(s)
            if by_predicate is None:
                return
            if p is not None:
                objects = by_predicate.get(p)
                pairs: Iterable[tuple[Any, dict[Any, None]]] = () if objects is None else ((p, objects),)
            else:
                pairs = by_predicate.items()
            for pred, objects in pairs:
                if o is not None:
                    if o in objects:
                        yield s, pred, o
                    continue
                for obj in objects:
                    yield s, pred, obj
            return
        if p is not None:
            by_object = self._pos.get(p)
            if by_object is None:
                return
            if o is not None:
                for subj in by_object.get(o, ()):
                    yield subj, p, o
                return
            for obj, subjects in by_object.items():
                for subj in subjects:
                    yield subj, p, obj
            return
        if o is not None:
            for subj, predicates in self._osp.get(o, {}).items():
                for pred in predicates:
                    yield subj, pred, o
            return
        for subj, by_predicate in self._spo.items():
            for pred, objects in by_predicate.items():
                for obj in objects:
                    yield subj, pred, obj

    def triples(self, triple_pattern: Any, context: Any = None) -> Iterator[tuple[Triple, Any]]:
        for triple in self.match(triple_pattern):
            yield triple, _NO_CONTEXTS

    def __len__(self, context: Any = None) -> int:
        return self._count

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        yield from ()


class CaseStoreGraph(Graph):
    """An rdflib graph over its own ``CaseStore`` (module docstring)."""

    def __init__(self, bind_namespaces: Any = "rdflib") -> None:
        self._case_store = CaseStore()
        super().__init__(store=self._case_store, bind_namespaces=bind_namespaces)

    def add(self, triple: Any) -> Any:
        s, p, o = triple
        if type(s) in _TERMS and type(p) is URIRef and type(o) in _TERMS:
            self._case_store.add_all((triple,))
            return self
        return super().add(triple)

    def add_all(self, triples: list[Triple]) -> None:
        """Add the triples (as ``add`` does, in one call)."""
        terms = _TERMS
        if all(type(s) in terms and type(p) is URIRef and type(o) in terms for s, p, o in triples):
            self._case_store.add_all(triples)
            return
        for triple in triples:
            CaseStoreGraph.add(self, triple)  # not a subclass's add: it recorded the triples already

    def triples(self, triple: Any) -> Any:
        p = triple[1]
        if p is None or type(p) is URIRef:
            return self._case_store.match(triple)
        return super().triples(triple)

    def objects(self, subject: Any = None, predicate: Any = None, unique: bool = False) -> Any:
        if unique or not (predicate is None or type(predicate) is URIRef) or isinstance(subject, list):
            return super().objects(subject, predicate, unique)
        return (o for _, _, o in self._case_store.match((subject, predicate, None)))

    def subjects(self, predicate: Any = None, object: Any = None, unique: bool = False) -> Any:
        if unique or not (predicate is None or type(predicate) is URIRef) or isinstance(object, list):
            return super().subjects(predicate, object, unique)
        return (s for s, _, _ in self._case_store.match((None, predicate, object)))
