"""Deciding one chunk of cases: parse, form checks and enrichment per case, validation set-based, decision.

A case that fails (malformed, invalid, not reviewable, or an unexpected error) becomes a
``CaseOutcome`` with its source and the error, and the rest of the chunk goes on. Everything a
chunk returns is plain data (strings, JSON-ready dicts, N-Quads text), so chunks travel between
Dask workers and the client cheaply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import Graph, URIRef

import kb.guidelines  # noqa: F401  (registers every guideline's enrichment hooks)
from kb.batch.parsing import CaseInput, parse_as_today, parse_input
from kb.batch.setvalidation import validate_cases
from kb.errors import CaseFormError, CaseSyntaxError, UnsupportedRequestError
from kb.knowledge import Knowledge
from kb.pipeline.caseform import check_case_form
from kb.pipeline.determination import Determination, decide, determination_graph
from kb.pipeline.enrichment import Enriched, enrich
from kb.pipeline.validation import validate_case
from kb.repository import determination_graphs
from kb.store.base import Triple

STAGES = ("parse", "form", "enrich", "validate", "decide", "serialize")


@dataclass
class CaseOutcome:
    source: str
    outcome: str | None = None  # approved / denied / pended / excluded, None when the case failed
    error_kind: str | None = None  # malformed / invalid / unsupported / internal
    error: str | None = None
    deciding: tuple[str, ...] = ()  # the deciding criteria's ids
    machine: dict[str, Any] | None = None  # the determination's JSON form
    nquads: str | None = None  # the determination (and report, when asked) as N-Quads
    # The named graphs that store the determination in the repository's layout (kb.repository), when asked.
    graphs: dict[str, list[Triple]] | None = None

    def as_json(self) -> dict[str, Any]:
        if self.outcome is None:
            return {"case": self.source, "error": self.error_kind, "detail": self.error}
        return self.machine or {"case": self.source, "outcome": self.outcome}


@dataclass
class ChunkResult:
    outcomes: list[CaseOutcome]
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))


def _failure(source: str, exc: Exception) -> CaseOutcome:
    if isinstance(exc, CaseSyntaxError):
        kind = "malformed"
    elif isinstance(exc, CaseFormError):
        kind = "invalid"
    elif isinstance(exc, UnsupportedRequestError):
        kind = "unsupported"
    else:
        kind = "internal"
    return CaseOutcome(source=source, error_kind=kind, error=str(exc) or type(exc).__name__)


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def _nquads(det: Determination, with_report: bool) -> str:
    graph = determination_graph(det)
    lines = graph.serialize(format="nt")
    out = []
    node = next(iter(graph.subjects(predicate=URIRef("https://w3id.org/ipkg/ontology#outcome"))), None)
    name = f"<{node}>" if node is not None else "<urn:ipkg:batch:determination>"
    for line in lines.splitlines():
        if line.strip():
            out.append(f"{line[:-1].rstrip()} {name} .\n")
    if with_report:
        report_name = name[:-1] + "/report>"
        for line in det.report.serialize(format="nt").splitlines():
            if line.strip():
                out.append(f"{line[:-1].rstrip()} {report_name} .\n")
    return "".join(out)


def decide_chunk(
    inputs: Sequence[CaseInput],
    knowledge: Knowledge,
    *,
    validator: str = "set",
    rdf: bool = False,
    with_report: bool = False,
    store: bool = False,
) -> ChunkResult:
    """Decide each case of the chunk; ``validator`` is ``set`` (one store for the chunk) or ``pyshacl``
    (each case validated as the single-request path does; ``per-case`` also parses as it does)."""
    result = ChunkResult(outcomes=[])
    seconds = result.seconds
    slots: list[CaseOutcome | None] = []
    enriched: list[tuple[int, Enriched]] = []
    originals: dict[int, Graph] = {}
    for item in inputs:
        t0 = time.perf_counter()
        try:
            graph: Graph = parse_input(item) if validator != "per-case" else parse_as_today(item)
            t1 = time.perf_counter()
            seconds["parse"] += t1 - t0
            request = check_case_form(graph, knowledge, item.source)
            if store:
                originals[len(slots)] = _copy(graph)
            t2 = time.perf_counter()
            seconds["form"] += t2 - t1
            enriched.append((len(slots), enrich(graph, request, knowledge, item.source)))
            seconds["enrich"] += time.perf_counter() - t2
            slots.append(None)
        except Exception as exc:  # a failed case is reported and the chunk goes on
            slots.append(_failure(item.source, exc))
    t3 = time.perf_counter()
    if validator == "set":
        try:
            reports = validate_cases([(e.graph, e.request) for _, e in enriched], knowledge)
        except Exception:  # validated case by case, as the single-request path does
            reports = [validate_case(e.graph, knowledge, e.request) for _, e in enriched]
    else:
        reports = [validate_case(e.graph, knowledge, e.request) for _, e in enriched]
    t4 = time.perf_counter()
    seconds["validate"] += t4 - t3
    for (slot, e), (conforms, report) in zip(enriched, reports, strict=True):
        source = inputs[slot].source
        t5 = time.perf_counter()
        try:
            det = decide(e, conforms, report, knowledge, source)
        except Exception as exc:  # reported with its source
            slots[slot] = _failure(source, exc)
            continue
        t6 = time.perf_counter()
        seconds["decide"] += t6 - t5
        machine = det.as_json()
        slots[slot] = CaseOutcome(
            source=source,
            outcome=det.outcome,
            deciding=tuple(sorted(c.criterion.id for c in det.deciding)),
            machine=json.loads(json.dumps(machine, default=str)),
            nquads=_nquads(det, with_report) if rdf else None,
            graphs=determination_graphs(originals[slot], det)[1] if store else None,
        )
        seconds["serialize"] += time.perf_counter() - t6
    result.outcomes = [s for s in slots if s is not None]
    return result
