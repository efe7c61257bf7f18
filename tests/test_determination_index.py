"""The list index (kb/determination_index.py) answers every list as the store's list query does."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from kb.determination_index import DeterminationFilter, DeterminationIndex, Entry, entry_from_graph
from kb.knowledge import Knowledge
from kb.namespaces import IP
from kb.pipeline.caseio import read_case_file
from kb.repository import Repository, determination_graph_name

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    "cg300-acute-approved.ttl",
    "cg300-stenosis-denied.ttl",
    "cg301-initial-approved.ttl",
    "cg301-initial-pended.ttl",
    "cg302-initial-denied.ttl",
    "cg301-exclusion-occipital-excluded.ttl",
]


def _save(repository: Repository, names: list[str]) -> list[str]:
    ids = []
    for name in names:
        stored, _ = repository.determine_and_save(read_case_file(ROOT / "examples" / "cases" / name), name)
        ids.append(stored.id)
    return ids


FILTERS = [
    DeterminationFilter(),
    DeterminationFilter(outcome="approved"),
    DeterminationFilter(outcome="denied"),
    DeterminationFilter(guideline="NIA_CG_300"),
    DeterminationFilter(procedure="64483"),
    DeterminationFilter(service_from=dt.date(2024, 6, 1)),
    DeterminationFilter(service_to=dt.date(2024, 5, 31)),
    DeterminationFilter(outcome="approved", service_from=dt.date(2024, 1, 1), service_to=dt.date(2024, 12, 31)),
]


def test_the_index_lists_as_the_store_query_does_before_and_after_new_writes(repository: Repository) -> None:
    first = _save(repository, EXAMPLES[:3])
    assert len(first) == 3
    index = repository.index_determinations(10.0)  # built from the store
    assert len(index) == 3
    later = _save(repository, EXAMPLES[3:])  # entered as each write is acknowledged
    assert len(index) == len(first) + len(later)
    for flt, (limit, offset) in itertools.product(FILTERS, [(50, 0), (2, 0), (2, 2), (1, 5), (3, 100)]):
        assert repository.list_determinations(flt, limit, offset, 10.0) == repository.query_determinations(
            flt, limit, offset, 10.0
        ), (flt, limit, offset)
    total, items = repository.list_determinations(DeterminationFilter(), 50, 0, 10.0)
    assert total == len(first) + len(later)
    assert {item["id"] for item in items} == set(first + later)


def test_the_newest_determination_is_listed_first(repository: Repository) -> None:
    """Newest first, then by id (``ip:determinedAt`` is to the second, so determinations of one second tie)."""
    _save(repository, EXAMPLES[:2])
    repository.index_determinations(10.0)
    newest = _save(repository, EXAMPLES[2:3])[0]
    _, items = repository.list_determinations(DeterminationFilter(), 50, 0, 10.0)
    keys = [(-Entry(**item).instant().timestamp(), item["id"]) for item in items]
    assert keys == sorted(keys)
    first_second = [item["id"] for item in items if item["at"] == items[0]["at"]]
    assert newest in first_second


def test_an_entry_needs_every_column_the_list_query_needs(knowledge: Knowledge) -> None:
    numbers = {str(iri): g.number for iri, g in knowledge.guidelines.items()}
    iri = ("u", "https://w3id.org/ipkg/determination/x")
    triples = [
        (iri, ("u", str(IP.outcome)), ("u", str(IP.Denied))),
        (iri, ("u", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ("u", str(IP.Determination))),
        (iri, ("u", str(IP.underGuideline)), ("u", str(IP.NIA_CG_301))),
        (iri, ("u", str(IP.requestedCode)), ("l", "64493", "http://www.w3.org/2001/XMLSchema#string", "")),
        (iri, ("u", str(IP.determinedAt)), ("l", "2024-06-10T10:00:00+00:00", "http://www.w3.org/2001/XMLSchema#dateTime", "")),
    ]
    assert entry_from_graph("x", triples, numbers) is None  # no date of service: the query leaves it out too
    dated = [*triples, (iri, ("u", str(IP.serviceDate)), ("l", "2024-06-10", "http://www.w3.org/2001/XMLSchema#date", ""))]
    entry = entry_from_graph("x", dated, numbers)
    assert entry == Entry("x", "denied", "NIA_CG_301", "64493", "2024-06-10", "2024-06-10T10:00:00Z")
    assert determination_graph_name("x").endswith("/x")


def test_a_page_past_the_end_is_empty_and_counts_every_match() -> None:
    index = DeterminationIndex(
        Entry(str(i), "approved", "NIA_CG_300", "64483", "2024-06-10", f"2024-06-10T10:00:0{i}+00:00") for i in range(5)
    )
    total, rows = index.page(DeterminationFilter(), 2, 0)
    assert total == 5 and [row["id"] for row in rows] == ["4", "3"]
    assert index.page(DeterminationFilter(outcome="denied"), 10, 0) == (0, [])
    assert index.page(DeterminationFilter(), 10, 7) == (5, [])
    assert [row["id"] for row in index.page(DeterminationFilter(), 5, 0)[1]] == ["4", "3", "2", "1", "0"]
