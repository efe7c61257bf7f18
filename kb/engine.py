"""The path of a case: parse, check form, enrich, validate, decide."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

import kb.guidelines  # noqa: F401  (importing the package registers every guideline's enrichment hooks)
from kb.knowledge import Knowledge, load_knowledge
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import MAX_CASE_BYTES, parse_case, read_case_file
from kb.pipeline.determination import Determination, decide
from kb.pipeline.enrichment import enrich
from kb.pipeline.validation import validate_case


def determine_graph(case: Graph, source: str = "<case>", knowledge: Knowledge | None = None) -> Determination:
    """Determine a parsed case. The graph is extended in place with the derived facts."""
    kn = knowledge or load_knowledge()
    request = check_case_form(case, kn, source)
    enriched = enrich(case, request, kn, source)
    conforms, report = validate_case(enriched.graph, kn, enriched.request)
    return decide(enriched, conforms, report, kn, source)


def determine_file(path: Path, knowledge: Knowledge | None = None) -> Determination:
    return determine_graph(read_case_file(path), str(path), knowledge)


def determine_text(data: bytes | str, fmt: str, source: str = "<case>", max_bytes: int = MAX_CASE_BYTES) -> Determination:
    return determine_graph(parse_case(data, fmt, source, max_bytes), source)
