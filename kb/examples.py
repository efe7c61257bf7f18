"""Preloading the bundled example cases into a store (the main job's demo data)."""

from __future__ import annotations

import sys

from kb import resources
from kb.errors import KnowledgeGraphError
from kb.pipeline.caseio import read_case_file
from kb.repository import Repository


def preload_examples(repository: Repository) -> int:
    """Store each example case (id ``example-<file name>``) and its determination, once."""
    cases = sorted([*(resources.examples_dir() / "cases").glob("*.ttl"), *(resources.examples_dir() / "cases").glob("*.jsonld")])
    stored = 0
    for index, path in enumerate(cases, 1):
        case_id = f"example-{path.name}"
        if repository.case_exists(case_id):
            continue
        try:
            repository.determine_and_save(read_case_file(path), str(path.name), case_id)
        except KnowledgeGraphError as exc:
            print(f"example {path.name} not loaded: {exc}", file=sys.stderr)
            continue
        stored += 1
        print(f"\rloading example cases: {index}/{len(cases)}", end="", file=sys.stderr, flush=True)
    if stored:
        print(file=sys.stderr)
    return stored
