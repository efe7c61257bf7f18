"""The path of a case: parse, check form, enrich, validate, decide."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

import kb.guidelines  # noqa: F401  (importing the package registers every guideline's enrichment hooks)
from kb.knowledge import Knowledge, load_knowledge
from kb.pipeline import partialdates
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import MAX_CASE_BYTES, parse_case, read_case_file
from kb.pipeline.determination import NOT_DOCUMENTED, Determination, applicable_criteria, collect, criterion_status, decide
from kb.pipeline.enrichment import Enriched, enrich
from kb.pipeline.validation import validate_case


def determine_graph(case: Graph, source: str = "<case>", knowledge: Knowledge | None = None) -> Determination:
    """Determine a parsed case. The graph is extended in place with the derived facts (when prior
    procedures are dated to the month or year, the determination reports a copy instead)."""
    kn = knowledge or load_knowledge()
    request = check_case_form(case, kn, source)
    partial = partialdates.partial_procedure_dates(case, request)
    if partial:
        return _determine_over_intervals(case, partial, kn, source)
    enriched = enrich(case, request, kn, source)
    conforms, report = validate_case(enriched.graph, kn, enriched.request)
    return decide(enriched, conforms, report, kn, source)


def _determine_over_intervals(case: Graph, partial: list[partialdates.PartialDate], kn: Knowledge, source: str) -> Determination:
    """Decide with every partial procedure date at the first and at the last day of its interval; a
    criterion decided differently at the two ends is not documented (kb/pipeline/partialdates.py)."""
    runs = []
    for enriched in enrich_interval_ends(case, partial, kn, source):
        conforms, report = validate_case(enriched.graph, kn, enriched.request)
        runs.append((enriched, conforms, report))
    return decide_over_intervals(case, partial, runs, kn, source)


def enrich_interval_ends(case: Graph, partial: list[partialdates.PartialDate], kn: Knowledge, source: str) -> list[Enriched]:
    """The case enriched with every partial procedure date at the first, then at the last day of its interval."""
    ends = []
    for latest in (False, True):
        pinned = partialdates.pinned(case, partial, latest)
        ends.append(enrich(pinned, check_case_form(pinned, kn, source), kn, source))
    return ends


def decide_over_intervals(
    case: Graph, partial: list[partialdates.PartialDate], runs: list[tuple[Enriched, bool, Graph]], kn: Knowledge, source: str
) -> Determination:
    """The determination from the validated runs of ``enrich_interval_ends`` (each with its conforms and report)."""
    (first, first_conforms, first_report), (last, last_conforms, last_report) = runs
    at_first = collect(first_report, first.request, kn)
    merged = partialdates.merge(
        at_first,
        collect(last_report, last.request, kn),
        {c.iri for c in applicable_criteria(last, kn)},
        partial,
        criterion_status,
        lambda iri: kn.criteria[iri].id,
        NOT_DOCUMENTED,
    )
    partialdates.rewrite_report(first_report, first.request, at_first, merged, lambda iri: _shape_of(kn, iri))
    partialdates.restore(first.graph, partial)
    conforms = first_conforms and last_conforms and not any(merged.values())
    return decide(first, conforms, first_report, kn, source)


def _shape_of(kn: Knowledge, criterion: URIRef) -> tuple[URIRef, Node] | None:
    info = kn.criteria[criterion]
    if info.shape is None or info.severity is None:
        return None
    return info.shape, info.severity


def determine_file(path: Path, knowledge: Knowledge | None = None) -> Determination:
    return determine_graph(read_case_file(path), str(path), knowledge)


def determine_text(data: bytes | str, fmt: str, source: str = "<case>", max_bytes: int = MAX_CASE_BYTES) -> Determination:
    return determine_graph(parse_case(data, fmt, source, max_bytes), source)
