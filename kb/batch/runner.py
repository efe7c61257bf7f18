"""Running a batch: chunks of cases decided in this process or on Dask workers, results streamed out.

``run_batch`` reads the inputs lazily, cuts them into chunks of ``chunk_size`` cases and decides each
chunk with ``kb.batch.chunk.decide_chunk``:

- ``workers=0``: in this process, one chunk after the other;
- otherwise on Dask ``distributed``: a ``LocalCluster`` of ``workers`` processes (one thread each,
  default: the machine's cores), or the scheduler at ``scheduler`` (``tcp://host:port``) when given.

At most two chunks per worker are in flight, so memory is bounded by the chunk size, not by the
input. Each finished chunk is handed to the sinks at once (JSON-lines, N-Quads, the store), in the
order chunks finish, and to ``on_chunk`` (the progress bar).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

from kb.batch.chunk import STAGES, CaseOutcome, ChunkResult, decide_chunk
from kb.batch.parsing import CaseInput
from kb.gc_settle import settle
from kb.knowledge import Knowledge, load_knowledge, parse_files
from kb.store.base import Triple


class StoreLike(Protocol):
    def put_graphs(self, graphs: dict[str, list[Triple]]) -> None: ...
    def close(self) -> None: ...


class Sink(Protocol):
    def write(self, outcomes: list[CaseOutcome]) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class KnowledgeVersion:
    """Which ontology and shapes decide: this version's (``None`` directories) or another directory's."""

    ontology_dir: str | None = None
    shapes_dir: str | None = None


@lru_cache(maxsize=4)
def knowledge_for(version: KnowledgeVersion) -> Knowledge:
    """The knowledge of a version, loaded once per process (each Dask worker loads its own)."""
    if version.ontology_dir is None and version.shapes_dir is None:
        return load_knowledge()
    from kb import resources

    ontology = Path(version.ontology_dir) if version.ontology_dir else resources.ontology_dir()
    shapes = Path(version.shapes_dir) if version.shapes_dir else resources.shapes_dir()
    return Knowledge(
        parse_files(sorted(ontology.glob("*.ttl"))),
        parse_files(sorted(p for p in shapes.glob("*.ttl") if not p.name.startswith("case-form"))),
        parse_files(sorted(shapes.glob("case-form*.ttl"))),
    )


def chunk_task(
    inputs: list[CaseInput], version: KnowledgeVersion, validator: str, rdf: bool, with_report: bool, store: bool
) -> ChunkResult:
    """One chunk, as a Dask task (a module-level function, so workers import it by name)."""
    return decide_chunk(inputs, knowledge_for(version), validator=validator, rdf=rdf, with_report=with_report, store=store)


def prepare_worker(version: KnowledgeVersion) -> None:
    """Load the knowledge on a worker of our own cluster before its first chunk, then freeze what it
    keeps for its whole life (``kb.gc_settle``): the collections between a chunk's cases and at its
    end then walk only what the chunk creates."""
    knowledge_for(version)
    settle()


@dataclass
class BatchSummary:
    cases: int = 0
    failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def add(self, result: ChunkResult) -> None:
        for outcome in result.outcomes:
            self.cases += 1
            if outcome.outcome is None:
                self.failed += 1
                kind = outcome.error_kind or "internal"
                self.failures[kind] = self.failures.get(kind, 0) + 1
            else:
                self.outcomes[outcome.outcome] = self.outcomes.get(outcome.outcome, 0) + 1
        for stage, seconds in result.seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds

    def as_json(self) -> dict[str, Any]:
        rate = self.cases / self.seconds if self.seconds else 0.0
        return {
            "cases": self.cases,
            "decided": self.cases - self.failed,
            "failed": self.failed,
            "outcomes": dict(sorted(self.outcomes.items())),
            "failures": dict(sorted(self.failures.items())),
            "seconds": round(self.seconds, 2),
            "determinations_per_second": round(rate, 1),
            "stage_seconds": {k: round(v, 2) for k, v in self.stage_seconds.items()},
        }


def chunks(inputs: Iterable[CaseInput], size: int) -> Iterator[list[CaseInput]]:
    iterator = iter(inputs)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _in_process(parts: Iterator[list[CaseInput]], task: Callable[[list[CaseInput]], ChunkResult]) -> Iterator[ChunkResult]:
    for part in parts:
        yield task(part)


def _on_dask(
    parts: Iterator[list[CaseInput]], args: tuple[Any, ...], workers: int, scheduler: str | None
) -> Iterator[ChunkResult]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        client.run(prepare_worker, args[0])
    else:
        client = Client(scheduler)
    try:
        in_flight = max(2, 2 * (workers if scheduler is None else max(1, len(client.scheduler_info()["workers"]))))
        pending = as_completed()
        for part in itertools.islice(parts, in_flight):
            pending.add(client.submit(chunk_task, part, *args, pure=False))
        for future in pending:
            result = future.result()
            future.release()
            nxt = next(parts, None)
            if nxt is not None:
                pending.add(client.submit(chunk_task, nxt, *args, pure=False))
            yield result
    finally:
        # Workers that take long to stop are killed by their nannies; that is logged as errors, not a failure.
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            client.close()
            if cluster is not None:
                cluster.close()
        finally:
            quiet.setLevel(level)


def run_batch(
    inputs: Iterable[CaseInput],
    sinks: list[Sink],
    *,
    chunk_size: int = 500,
    workers: int = 0,
    scheduler: str | None = None,
    version: KnowledgeVersion | None = None,
    validator: str = "set",
    rdf: bool = False,
    with_report: bool = False,
    store: bool = False,
    on_chunk: Callable[[ChunkResult], None] | None = None,
) -> BatchSummary:
    """Decide every input; write each chunk's results to the sinks as the chunk finishes."""
    version = version or KnowledgeVersion()
    summary = BatchSummary()
    parts = chunks(inputs, chunk_size)
    args = (version, validator, rdf, with_report, store)
    start = time.perf_counter()
    if workers == 0 and scheduler is None:
        results = _in_process(parts, lambda part: chunk_task(part, *args))
    else:
        results = _on_dask(parts, args, workers or (os.cpu_count() or 1), scheduler)
    for result in results:
        for sink in sinks:
            sink.write(result.outcomes)
        summary.add(result)
        summary.seconds = time.perf_counter() - start
        if on_chunk is not None:
            on_chunk(result)
    summary.seconds = time.perf_counter() - start
    return summary


# -- sinks ------------------------------------------------------------------------------------------


class JsonLinesSink:
    """One JSON object per case: the determination's machine form, or the case's error."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle

    def write(self, outcomes: list[CaseOutcome]) -> None:
        for outcome in outcomes:
            self.handle.write(outcome.json_text() + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


class NQuadsSink:
    """Each determination in its own named graph (its report in ``<determination>/report`` when asked)."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle

    def write(self, outcomes: list[CaseOutcome]) -> None:
        for outcome in outcomes:
            if outcome.nquads:
                self.handle.write(outcome.nquads)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


class CollectSink:
    """Keeps every outcome in memory (for the Python API and tests on small batches)."""

    def __init__(self) -> None:
        self.outcomes: list[CaseOutcome] = []

    def write(self, outcomes: list[CaseOutcome]) -> None:
        self.outcomes.extend(outcomes)

    def close(self) -> None:
        return None


class StoreSink:
    """Each chunk's determinations, with their cases, derived facts and reports, written to the store in
    one transaction, in the repository's layout (``kb.repository.determination_graphs``)."""

    def __init__(self, store: StoreLike) -> None:
        self.store = store

    def write(self, outcomes: list[CaseOutcome]) -> None:
        graphs: dict[str, list[Triple]] = {}
        for outcome in outcomes:
            if outcome.graphs:
                graphs.update(outcome.graphs)
        if graphs:
            self.store.put_graphs(graphs)

    def close(self) -> None:
        self.store.close()
