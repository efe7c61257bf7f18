"""The ontology and shapes are loaded once per process; no case triggers OWL reasoning."""

from __future__ import annotations

from pathlib import Path

import owlrl
import pytest
from rdflib import Graph

from kb import knowledge as knowledge_module
from kb.engine import determine_file
from kb.errors import KnowledgeGraphError
from kb.pipeline import validation

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cases" / "cg300-acute-approved.ttl"


def test_knowledge_is_loaded_once() -> None:
    assert knowledge_module.load_knowledge() is knowledge_module.load_knowledge()


def test_determinations_parse_no_ontology_and_run_no_closure(monkeypatch: pytest.MonkeyPatch) -> None:
    knowledge_module.load_knowledge()  # loaded before the cases, once

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a case must not trigger this")

    monkeypatch.setattr(owlrl.DeductiveClosure, "expand", refuse)
    monkeypatch.setattr(knowledge_module, "parse_files", refuse)
    for _ in range(2):
        assert determine_file(EXAMPLE).outcome == "approved"


def test_the_callers_case_graph_gets_no_ontology_triples() -> None:
    det = determine_file(EXAMPLE)
    assert isinstance(det.case_graph, Graph)
    assert len(det.case_graph) < 200


def test_the_warm_up_parses_every_constraint_text_a_case_can_need() -> None:
    """After ``warm_up`` (what a case worker runs before it reports ready), deciding every example case
    parses no SPARQL text: no client's case pays a constraint's first parse (~40 ms each)."""
    knowledge = knowledge_module.load_knowledge()
    validation._prepared.cache_clear()
    cached = validation.warm_up(knowledge)
    assert cached > 200
    examples = sorted(EXAMPLE.parent.glob("*.ttl"))
    assert len(examples) > 150
    for path in examples:
        try:
            determine_file(path, knowledge)
        except KnowledgeGraphError:
            continue  # an example the form checks refuse still went through them
    assert validation._prepared.cache_info().misses == cached
