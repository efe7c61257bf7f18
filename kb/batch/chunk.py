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
from kb.batch import oxterms
from kb.batch.collection import chunk_collection, collect_young_if_due
from kb.batch.formscreen import check_forms
from kb.batch.parsing import CaseInput, parse_as_today, parse_input
from kb.batch.setvalidation import validate_cases
from kb.engine import decide_over_intervals
from kb.errors import CaseFormError, CaseSyntaxError, UnsupportedRequestError
from kb.knowledge import Knowledge
from kb.pipeline import partialdates
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
    # The determination's JSON form as text: made once on the worker, it travels and is written as it is.
    machine_json: str | None = None
    nquads: str | None = None  # the determination (and report, when asked) as N-Quads
    # The named graphs that store the determination in the repository's layout (kb.repository), when asked.
    graphs: dict[str, list[Triple]] | None = None

    def as_json(self) -> dict[str, Any]:
        if self.outcome is None:
            return {"case": self.source, "error": self.error_kind, "detail": self.error}
        if self.machine_json is not None:
            machine: dict[str, Any] = json.loads(self.machine_json)
            return machine
        return {"case": self.source, "outcome": self.outcome}

    def json_text(self) -> str:
        """``as_json()`` as one line of JSON text (non-ASCII characters kept)."""
        if self.outcome is not None and self.machine_json is not None:
            return self.machine_json
        return json.dumps(self.as_json(), ensure_ascii=False)


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


def _outcome(source: str, det: Determination, rdf: bool, with_report: bool, original: Graph | None) -> CaseOutcome:
    machine = det.as_json()
    return CaseOutcome(
        source=source,
        outcome=det.outcome,
        deciding=tuple(sorted(c.criterion.id for c in det.deciding)),
        machine_json=json.dumps(machine, default=str, ensure_ascii=False),
        nquads=_nquads(det, with_report) if rdf else None,
        graphs=determination_graphs(original, det)[1] if original is not None else None,
    )


@dataclass
class _Job:
    """A case past its form checks. A case with partial procedure dates has those dates and is decided
    over the enriched copies pinned to the first and to the last day of each interval (``runs``)."""

    slot: int
    graph: Graph
    request: URIRef
    partial: list[partialdates.PartialDate] = field(default_factory=list)
    runs: list[Enriched] = field(default_factory=list)


def decide_chunk(
    inputs: Sequence[CaseInput],
    knowledge: Knowledge,
    *,
    validator: str = "set",
    rdf: bool = False,
    with_report: bool = False,
    store: bool = False,
) -> ChunkResult:
    """Decide each case of the chunk; ``validator`` is ``set`` (the form shapes screened and the
    criterion shapes validated over the whole chunk) or ``pyshacl`` (each case checked and validated
    as the single-request path does; ``per-case`` also parses as it does).

    While the chunk is decided, garbage is collected on this thread only (``kb.batch.collection``):
    the chunk's reference cycles may hold Oxigraph objects, which must not be freed on another
    thread. Young generations are collected between cases, as often as the automatic collector
    would (so the per-case path's pySHACL garbage goes as it is made); what lives until the chunk's
    end is not walked again and again, and one full collection ends the chunk. A chunk validated
    set-based makes little cyclic garbage and collects only at its end (``kb.batch.collection``).
    """
    with chunk_collection(young=validator != "set"):
        try:
            return _decide_chunk(inputs, knowledge, validator, rdf, with_report, store)
        finally:
            oxterms.forget()  # the chunk's terms go with it (kb.batch.oxterms)


def _validate_each(enriched: list[Enriched], knowledge: Knowledge) -> list[tuple[bool, Graph]]:
    """Each case validated by pySHACL, as the single-request path does."""
    reports = []
    for e in enriched:
        reports.append(validate_case(e.graph, knowledge, e.request))
        collect_young_if_due()
    return reports


def _decide_chunk(
    inputs: Sequence[CaseInput], knowledge: Knowledge, validator: str, rdf: bool, with_report: bool, store: bool
) -> ChunkResult:
    result = ChunkResult(outcomes=[])
    seconds = result.seconds
    slots: list[CaseOutcome | None] = []
    parsed: list[tuple[int, Graph]] = []
    for item in inputs:
        t0 = time.perf_counter()
        try:
            parsed.append((len(slots), parse_input(item) if validator != "per-case" else parse_as_today(item)))
            slots.append(None)
        except Exception as exc:  # a failed case is reported and the chunk goes on
            slots.append(_failure(item.source, exc))
        seconds["parse"] += time.perf_counter() - t0
        collect_young_if_due()

    def check(items: list[tuple[Graph, str]]) -> list[URIRef | Exception]:
        if validator == "set":
            return check_forms(items, knowledge)
        checked: list[URIRef | Exception] = []
        for graph, source in items:
            try:
                checked.append(check_case_form(graph, knowledge, source))
            except Exception as exc:  # reported with its source
                checked.append(exc)
            collect_young_if_due()
        return checked

    def fail(slot: int, exc: Exception) -> None:
        slots[slot] = _failure(inputs[slot].source, exc)

    t1 = time.perf_counter()
    jobs: list[_Job] = []
    originals: dict[int, Graph] = {}
    for (slot, graph), request in zip(parsed, check([(g, inputs[slot].source) for slot, g in parsed]), strict=True):
        if isinstance(request, Exception):
            fail(slot, request)
            continue
        try:
            jobs.append(_Job(slot, graph, request, partialdates.partial_procedure_dates(graph, request)))
        except Exception as exc:  # reported with its source
            fail(slot, exc)
            continue
        if store:
            originals[slot] = _copy(graph)
    # A case with partial procedure dates is decided at the first and at the last day of each interval,
    # as kb.engine does: both pinned copies are checked, enriched and validated with the chunk.
    pinned = [(job, partialdates.pinned(job.graph, job.partial, end)) for job in jobs if job.partial for end in (False, True)]
    pinned_requests = check([(graph, inputs[job.slot].source) for job, graph in pinned])
    seconds["form"] += time.perf_counter() - t1
    t2 = time.perf_counter()
    for (job, graph), pinned_request in zip(pinned, pinned_requests, strict=True):
        if slots[job.slot] is not None:
            continue  # the first end already failed
        try:
            if isinstance(pinned_request, Exception):
                raise pinned_request
            job.runs.append(enrich(graph, pinned_request, knowledge, inputs[job.slot].source))
        except Exception as exc:  # the first failing end, as the single-request path reports it
            fail(job.slot, exc)
        collect_young_if_due()
    for job in jobs:
        if not job.partial and slots[job.slot] is None:
            try:
                job.runs.append(enrich(job.graph, job.request, knowledge, inputs[job.slot].source))
            except Exception as exc:  # a failed case is reported and the chunk goes on
                fail(job.slot, exc)
            collect_young_if_due()
    jobs = [job for job in jobs if slots[job.slot] is None]
    seconds["enrich"] += time.perf_counter() - t2
    t3 = time.perf_counter()
    enriched = [e for job in jobs for e in job.runs]
    if validator == "set":
        try:
            reports = validate_cases([(e.graph, e.request) for e in enriched], knowledge)
        except Exception:  # validated case by case, as the single-request path does
            reports = _validate_each(enriched, knowledge)
    else:
        reports = _validate_each(enriched, knowledge)
    seconds["validate"] += time.perf_counter() - t3
    validated = [(e, conforms, report) for e, (conforms, report) in zip(enriched, reports, strict=True)]
    offset = 0
    for job in jobs:
        runs = validated[offset : offset + len(job.runs)]
        offset += len(job.runs)
        source = inputs[job.slot].source
        t5 = time.perf_counter()
        try:
            if job.partial:
                det = decide_over_intervals(job.graph, job.partial, runs, knowledge, source)
            else:
                [(e, conforms, report)] = runs
                det = decide(e, conforms, report, knowledge, source)
        except Exception as exc:  # reported with its source
            fail(job.slot, exc)
            continue
        finally:
            collect_young_if_due()
        t6 = time.perf_counter()
        seconds["decide"] += t6 - t5
        slots[job.slot] = _outcome(source, det, rdf, with_report, originals.get(job.slot))
        seconds["serialize"] += time.perf_counter() - t6
    result.outcomes = [s for s in slots if s is not None]
    return result
