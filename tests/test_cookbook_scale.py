"""The cookbook on a grown case base: same answers scaled by the number of copies, no duplicates, in time.

The base is the NIA_CG_300 example cases, decided and stored through the repository; the grown base
adds copies of every stored determination under new IRIs (``kb.store_bulk``), directly in the store.
Every cookbook query must then answer, within the service's query time limit, exactly the base's
rows for each copy (rows about cases repeat per copy with the copy's IRIs, counts multiply, answers
about the knowledge stay the same), and the union default graph must hold no triple twice.

CI grows the base to about 1,000 determinations; the documented local run uses 10,000:
    IPKG_SCALE_DETERMINATIONS=10000 .venv/bin/python -m pytest -q tests/test_cookbook_scale.py
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.settings import Settings
from kb import resources
from kb.cookbook import normalize, queries
from kb.examples import explained_examples, store_counterfactuals
from kb.knowledge import Knowledge
from kb.pipeline.caseio import read_case_file
from kb.repository import Repository
from kb.store.base import QueryOutcome
from kb.store.embedded import EmbeddedStore
from kb.store.terms import WireTerm
from kb.store_bulk import add_copies, copy_suffix, rewrite_term, stored_determination_ids

QUERIES = queries()
TARGET = int(os.environ.get("IPKG_SCALE_DETERMINATIONS", "1000"))
TIME_LIMIT = float(Settings.model_fields["query_timeout_seconds"].default)
# The aggregate columns of the cookbook that count determinations (they grow with the copies).
COUNT_COLUMNS = {"cases", "denials", "requests", "approvals", "pended", "exclusions", "within72Hours", "within7Days"}


@dataclass
class Bases:
    store: EmbeddedStore
    copies: int
    small: dict[str, QueryOutcome]


def _ask(store: EmbeddedStore, query: Path) -> QueryOutcome:
    return store.query(query.read_text(encoding="utf-8"), TIME_LIMIT, 100_000)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory, knowledge: Knowledge) -> Iterator[Bases]:
    store = EmbeddedStore(tmp_path_factory.mktemp("scale") / "store")
    try:
        repository = Repository(store, knowledge)
        repository.load_knowledge_graphs()
        for path in sorted((resources.examples_dir() / "cases").glob("cg300-*.ttl")):
            stored, _ = repository.determine_and_save(read_case_file(path), path.name, f"example-{path.name}")
            if path.name in explained_examples():
                store_counterfactuals(repository, stored.id)  # as a service that preloads the examples
        small = {query.name: _ask(store, query) for query in QUERIES}
        base = len(stored_determination_ids(store))
        copies = max(2, math.ceil(TARGET / base))
        add_copies(store, range(1, copies))
        assert len(stored_determination_ids(store)) == base * copies
        yield Bases(store, copies, small)
    finally:
        store.close()


def _lexical(row: tuple[WireTerm | None, ...]) -> tuple[str, ...]:
    return tuple(normalize(None if term is None else term[1]) for term in row)


def _scaled(outcome: QueryOutcome, copies: int) -> list[tuple[str, ...]]:
    """The answer the grown base should give: each row for each copy, counts times the copies."""
    counted = [i for i, name in enumerate(outcome.variables) if name in COUNT_COLUMNS]
    rows: set[tuple[str, ...]] = set()
    for row in outcome.rows:
        if counted:
            values = list(_lexical(row))
            for i in counted:
                values[i] = normalize(str(int(values[i]) * copies))
            rows.add(tuple(values))
            continue
        for copy in range(copies):
            suffix = copy_suffix(copy) if copy else ""
            rows.add(_lexical(tuple(None if t is None else rewrite_term(t, suffix) for t in row)))
    return sorted(rows)


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem[:40] for q in QUERIES])
def test_cookbook_answer_scales_with_the_case_base(query: Path, bases: Bases) -> None:
    small = bases.small[query.name]
    assert small.rows, "each cookbook question has an answer on the NIA_CG_300 examples"
    grown = _ask(bases.store, query)  # QueryTimeoutError past the service's time limit
    assert grown.variables == small.variables
    assert sorted(_lexical(row) for row in grown.rows) == _scaled(small, bases.copies)


def test_no_triple_is_stored_twice_outside_the_reports(bases: Bases) -> None:
    """Reports excepted: pySHACL copies the description of a blank-node sh:value from the case into
    the report, which is stored exactly as pySHACL produced it (tests/test_store_layout.py)."""
    outside = "GRAPH ?g { ?s ?p ?o }"
    every = bases.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {outside} }}", 120, 1)
    distinct = bases.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {{ {outside} }} }}", 120, 1)
    assert every.rows[0][0] is not None and distinct.rows[0][0] is not None
    assert int(every.rows[0][0][1]) == int(distinct.rows[0][0][1])
