"""The differential check: set-based reports against pySHACL's, case by case.

Both validators get the same enriched case; their reports must be isomorphic graphs (rdflib's
``compare.isomorphic``; the reports carry no case-dependent blank node labels other than the
case's own, which both keep). ``sh:conforms`` is part of the report, so it is compared too.

Command (the figures of docs/benchmark.md):

    .venv/bin/python -m kb.batch.differential --generated 10000 --chunk 500

``--fixtures`` adds every criterion fixture and every example case; ``--part K/N`` compares every
N-th generated case only, so that N processes share a run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import RDF, Graph
from rdflib.compare import isomorphic

import kb.guidelines  # noqa: F401  (registers every guideline's enrichment hooks)
from kb.batch.generate import generate
from kb.batch.setvalidation import validate_cases
from kb.knowledge import Knowledge, load_knowledge
from kb.namespaces import SH
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import read_case_file
from kb.pipeline.enrichment import Enriched, enrich
from kb.pipeline.validation import validate_case


@dataclass
class Comparison:
    cases: int = 0
    refused: int = 0  # cases the form checks or enrichment refuse (no report to compare)
    results: int = 0  # validation results in pySHACL's reports
    nonconforming: int = 0
    mismatches: list[str] = field(default_factory=list)
    pyshacl_seconds: float = 0.0
    set_seconds: float = 0.0
    guidelines: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "cases_compared": self.cases,
            "cases_refused_before_validation": self.refused,
            "pyshacl_results": self.results,
            "nonconforming_reports": self.nonconforming,
            "mismatches": len(self.mismatches),
            "mismatched_cases": self.mismatches[:20],
            "guidelines": dict(sorted(self.guidelines.items())),
            "pyshacl_validation_seconds": round(self.pyshacl_seconds, 2),
            "set_validation_seconds": round(self.set_seconds, 2),
        }


def compare_chunk(items: list[tuple[str, Graph]], knowledge: Knowledge, comparison: Comparison) -> None:
    """Enrich each case, validate the chunk both ways, and record every case whose reports differ."""
    enriched: list[tuple[str, Enriched]] = []
    for source, graph in items:
        try:
            request = check_case_form(graph, knowledge, source)
            enriched.append((source, enrich(graph, request, knowledge, source)))
        except Exception:  # refused cases have no report; the batch reports them the same way
            comparison.refused += 1
    t0 = time.perf_counter()
    reference = [validate_case(e.graph, knowledge, e.request) for _, e in enriched]
    t1 = time.perf_counter()
    got = validate_cases([(e.graph, e.request) for _, e in enriched], knowledge)
    comparison.set_seconds += time.perf_counter() - t1
    comparison.pyshacl_seconds += t1 - t0
    for (source, e), (conforms, report), (set_conforms, set_report) in zip(enriched, reference, got, strict=True):
        comparison.cases += 1
        comparison.guidelines[e.guideline.number] = comparison.guidelines.get(e.guideline.number, 0) + 1
        comparison.results += sum(1 for _ in report.subjects(RDF.type, SH.ValidationResult))
        comparison.nonconforming += 0 if conforms else 1
        if conforms != set_conforms or not isomorphic(report, set_report):
            comparison.mismatches.append(source)


def files(paths: Iterable[Path]) -> Iterator[tuple[str, Graph]]:
    for path in paths:
        yield str(path), read_case_file(path)


def fixture_and_example_files(root: Path) -> list[Path]:
    examples = root / "examples" / "cases"
    return sorted((root / "tests" / "criteria").glob("*/*.ttl")) + sorted([*examples.glob("*.ttl"), *examples.glob("*.jsonld")])


def run(cases: Iterable[tuple[str, Graph]], chunk: int, knowledge: Knowledge, progress: bool = False) -> Comparison:
    comparison = Comparison()
    batch: list[tuple[str, Graph]] = []
    for item in cases:
        batch.append(item)
        if len(batch) >= chunk:
            compare_chunk(batch, knowledge, comparison)
            batch = []
            if progress:
                print(f"  {comparison.cases} compared, {len(comparison.mismatches)} mismatches", file=sys.stderr, flush=True)
    if batch:
        compare_chunk(batch, knowledge, comparison)
    return comparison


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generated", type=int, default=0, help="how many generated cases to compare")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--fixtures", action="store_true", help="also every criterion fixture and example case")
    parser.add_argument("--part", default="1/1", help="K/N: the generated cases numbered K-1 modulo N (parallel runs)")
    args = parser.parse_args(argv)
    knowledge = load_knowledge()
    start = time.perf_counter()
    out: dict[str, Any] = {}
    if args.fixtures:
        root = Path(__file__).resolve().parents[2]
        out["fixtures_and_examples"] = run(files(fixture_and_example_files(root)), args.chunk, knowledge, True).as_json()
    if args.generated:
        k, n = (int(x) for x in args.part.split("/"))
        generated = (item for number, item in enumerate(generate(args.generated, args.seed)) if number % n == k - 1)
        out["generated"] = run(generated, args.chunk, knowledge, True).as_json()
    out["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(out, indent=2))
    if any(part.get("mismatches") for part in out.values() if isinstance(part, dict)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
