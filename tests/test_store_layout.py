"""The store layout: each fact once in the union default graph, determinations reproducible, old stores migrated."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rdflib import Graph
from rdflib.compare import isomorphic

from kb import resources
from kb.knowledge import Knowledge
from kb.pipeline.caseio import read_case_file
from kb.repository import Repository, wire
from kb.store.embedded import EmbeddedStore
from kb.store_layout import (
    DERIVED_PREFIX,
    LAYOUT_GRAPH,
    MIGRATION_PREFIX,
    derived_graph,
    layout_version,
    migrate,
    report_graph,
    term_facts,
)

CASES = [
    "cg300-acute-approved.ttl",
    "cg300-stenosis-pended.ttl",
    "cg300-repeat-after-initial-denied.ttl",
    "cg301-initial-approved.ttl",
    "cg310-trial-pain-approved.ttl",
]


def _paths() -> list[Path]:
    return [resources.examples_dir() / "cases" / name for name in CASES]


def _quad_counts(store: EmbeddedStore, reports: bool = True) -> Counter[tuple[object, ...]]:
    """How many named graphs hold each triple (every quad of the store; without the reports if asked)."""
    skip = "" if reports else 'FILTER (!STRSTARTS(STR(?g), "https://w3id.org/ipkg/graph/report/"))'
    outcome = store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {skip} }}", 60, 10_000_000)
    return Counter(outcome.rows)


def test_no_triple_is_stored_in_two_graphs(repository: Repository) -> None:
    for path in _paths():
        repository.determine_and_save(read_case_file(path), path.name, f"example-{path.name}")
    assert isinstance(repository.store, EmbeddedStore)
    twice = [triple for triple, n in _quad_counts(repository.store).items() if n > 1]
    assert twice == []


def test_the_stored_report_is_pyshacls_report(repository: Repository) -> None:
    """Copies of case blank nodes are left out of the stored report and restored when it is read."""
    for path in _paths():
        stored, det = repository.determine_and_save(read_case_file(path), path.name, f"report-{path.name}")
        assert isomorphic(repository.get_report(stored.id), det.report), path.name


def test_derived_graph_holds_only_facts_about_the_case(repository: Repository) -> None:
    path = _paths()[0]
    stored, _ = repository.determine_and_save(read_case_file(path), path.name)
    derived = repository.store.graph(derived_graph(stored.id))
    assert derived, "enrichment derives facts about the request"
    assert all(not s[1].startswith("https://w3id.org/ipkg/ontology#") for s, _, _ in derived)


def test_a_stored_determination_rebuilds_the_graph_shacl_validated(repository: Repository, knowledge: Knowledge) -> None:
    for path in _paths():
        stored, det = repository.determine_and_save(read_case_file(path), path.name)
        assert set(repository.validated_graph(stored.id)) == set(det.case_graph), path.name


def _write_layout_1(
    repository: Repository, knowledge: Knowledge, reports: dict[str, Graph] | None = None
) -> dict[str, set[tuple[object, ...]]]:
    """A store as layout 1 wrote it: every derived graph also holds the copied term facts, and every
    report pySHACL's copies of case blank nodes (collected in ``reports`` by determination id, if given)."""
    expected: dict[str, set[tuple[object, ...]]] = {}
    facts = term_facts(knowledge)
    for path in _paths():
        stored, det = repository.determine_and_save(read_case_file(path), path.name)
        repository.store.put_graphs({report_graph(stored.id): wire(det.report)})
        if reports is not None:
            reports[stored.id] = det.report
        name = derived_graph(stored.id)
        expected[name] = set(repository.store.graph(name) or [])
        referenced = {o for o in read_case_file(path).objects()}
        copied = Graph()
        for triple in facts:
            if triple[0] in referenced and triple in det.case_graph:
                copied.add(triple)
        repository.store.put_graphs({name: wire(copied)})
    repository.store.drop_graphs([LAYOUT_GRAPH])
    return expected


def test_a_layout_1_store_is_migrated_at_start_up(repository: Repository, knowledge: Knowledge) -> None:
    expected = _write_layout_1(repository, knowledge)
    assert isinstance(repository.store, EmbeddedStore)
    assert layout_version(repository.store) == 1
    assert any(n > 1 for n in _quad_counts(repository.store, reports=False).values()), "layout 1 repeats the term facts"

    repository.load_knowledge_graphs()  # what the service does at start-up

    assert layout_version(repository.store) == 2
    assert all(n == 1 for n in _quad_counts(repository.store, reports=False).values())
    for name, triples in expected.items():
        assert set(repository.store.graph(name) or []) == triples
    assert repository.store.graph_names(MIGRATION_PREFIX) == []


def test_layout_1_reports_lose_their_case_copies_and_read_back_unchanged(
    repository: Repository, knowledge: Knowledge
) -> None:
    reports: dict[str, Graph] = {}
    _write_layout_1(repository, knowledge, reports)
    assert isinstance(repository.store, EmbeddedStore)
    copies = [n for triple, n in _quad_counts(repository.store).items() if n > 1 and triple[0] and triple[0][0] == "b"]
    assert copies, "layout 1 reports repeat case blank nodes"

    repository.load_knowledge_graphs()

    assert all(n == 1 for n in _quad_counts(repository.store).values()), "a triple is stored in two graphs"
    for det_id, report in reports.items():
        assert isomorphic(repository.get_report(det_id), report), det_id
    assert repository.store.graph_names(MIGRATION_PREFIX) == []


def test_an_interrupted_migration_is_finished_at_the_next_start(repository: Repository, knowledge: Knowledge) -> None:
    expected = _write_layout_1(repository, knowledge)
    # Stopped after staging the filtered copies and dropping the originals, before writing them back.
    staged = {MIGRATION_PREFIX + "derived/" + name[len(DERIVED_PREFIX) :]: sorted(t) for name, t in expected.items()}
    repository.store.put_graphs(staged)
    repository.store.drop_graphs(list(expected))

    migrate(repository.store, log=False)

    for name, triples in expected.items():
        assert set(repository.store.graph(name) or []) == triples
    assert repository.store.graph_names(MIGRATION_PREFIX) == []
    assert layout_version(repository.store) == 2


def test_a_fresh_store_is_written_in_the_current_layout(repository: Repository) -> None:
    assert layout_version(repository.store) == 2
    assert repository.ready()

