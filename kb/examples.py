"""Preloading the bundled example cases into a store (the main job's demo data), with the counterfactuals
of the examples ``examples/counterfactuals.toml`` names."""

from __future__ import annotations

import sys
import tomllib
from functools import cache
from typing import Any

from rdflib import Graph, URIRef

from kb import resources
from kb.errors import KnowledgeGraphError
from kb.pipeline.caseio import read_case_file
from kb.repository import Repository


@cache
def explained_settings() -> dict[str, Any]:
    with (resources.examples_dir() / "counterfactuals.toml").open("rb") as handle:
        return tomllib.load(handle)


def explained_examples() -> list[str]:
    """The example cases (file names) whose counterfactuals come with the demo data."""
    names = explained_settings()["explained"]
    assert isinstance(names, list)
    return [str(n) for n in names]


def store_counterfactuals(repository: Repository, det_id: str) -> dict[str, Any]:
    """Compute and store a stored determination's counterfactuals (in this process) within the bound of
    examples/counterfactuals.toml."""
    from kb.questionnaire.revisions import counterfactuals

    settings = explained_settings()
    return counterfactuals(repository, det_id, int(settings["evaluations"]), float(settings["seconds"]))


def counterfactual_graph(case: Graph, determination: URIRef, knowledge: Any) -> Graph:
    """The RDF of a case's counterfactuals about ``determination`` (for the demo dataset, without a store)."""
    from kb.counterfactual.explain import explain
    from kb.engine import determine_graph
    from kb.questionnaire.facts import copy_graph

    settings = explained_settings()
    det = determine_graph(copy_graph(case), "<example>", knowledge)
    explanation = explain(case, det, knowledge, int(settings["evaluations"]), float(settings["seconds"]))
    graph = Graph()
    explanation.add_to(graph, determination)
    return graph


def preload_examples(repository: Repository) -> int:
    """Store each example case (id ``example-<file name>``) and its determination, once; with its
    counterfactuals for the examples examples/counterfactuals.toml names."""
    cases = sorted([*(resources.examples_dir() / "cases").glob("*.ttl"), *(resources.examples_dir() / "cases").glob("*.jsonld")])
    stored = 0
    for index, path in enumerate(cases, 1):
        case_id = f"example-{path.name}"
        if repository.case_exists(case_id):
            continue
        try:
            saved, _ = repository.determine_and_save(read_case_file(path), str(path.name), case_id)
        except KnowledgeGraphError as exc:
            print(f"example {path.name} not loaded: {exc}", file=sys.stderr)
            continue
        if path.name in explained_examples():
            store_counterfactuals(repository, saved.id)
        stored += 1
        print(f"\rloading example cases: {index}/{len(cases)}", end="", file=sys.stderr, flush=True)
    if stored:
        print(file=sys.stderr)
    return stored
