"""The differential check: set-based reports against pySHACL's, case by case.

Both validators get the same enriched case; their reports must be isomorphic graphs (rdflib's
``compare.isomorphic``; the reports carry no case-dependent blank node labels other than the
case's own, which both keep). ``sh:conforms`` is part of the report, so it is compared too.

Command (the figures of docs/benchmark.md):

    .venv/bin/python -m kb.batch.differential --generated 10000 --chunk 500

``--fixtures`` adds every criterion fixture and every example case; ``--part K/N`` compares every
N-th generated case only, so that N processes share a run.

The form checks are compared too: for every case, the batch path's result (``kb.batch.formscreen``:
the case-form shapes screened over the chunk, pySHACL only for the flagged cases) must be the
single-request path's (``check_case_form``): the same request node, or the same error with the same
problems. Valid cases rarely exercise the form shapes, so ``--form-variants N`` also compares N
generated cases with one to three form faults each (``form_variants``: a value replaced by one of
another kind, datatype or range, a value repeated, a statement left out, a node retyped).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.term import Node

import kb.guidelines  # noqa: F401  (registers every guideline's enrichment hooks)
from kb.batch.formscreen import check_forms
from kb.batch.generate import generate
from kb.batch.setvalidation import validate_cases
from kb.knowledge import Knowledge, load_knowledge
from kb.namespaces import CASE, IP, SH
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
    form_cases: int = 0  # cases whose form checks were compared
    form_refused: int = 0  # of those, cases the form checks refuse
    form_mismatches: list[str] = field(default_factory=list)
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
            "form_checks_compared": self.form_cases,
            "form_checks_refused": self.form_refused,
            "form_mismatches": len(self.form_mismatches),
            "form_mismatched_cases": self.form_mismatches[:20],
            "guidelines": dict(sorted(self.guidelines.items())),
            "pyshacl_validation_seconds": round(self.pyshacl_seconds, 2),
            "set_validation_seconds": round(self.set_seconds, 2),
        }


def _form_result(result: URIRef | Exception) -> tuple[str, str]:
    if isinstance(result, Exception):
        return type(result).__name__, str(result)
    return "request", str(result)


def compare_forms(items: list[tuple[str, Graph]], knowledge: Knowledge, comparison: Comparison) -> list[URIRef | Exception]:
    """The form checks of the chunk both ways; every case whose results differ is recorded. Returns the batch path's."""
    got = check_forms([(graph, source) for source, graph in items], knowledge)
    for (source, graph), result in zip(items, got, strict=True):
        try:  # the same graph: a blank node of several types is described by the type rdflib lists first
            reference: URIRef | Exception = check_case_form(graph, knowledge, source)
        except Exception as exc:  # compared with the batch path's error
            reference = exc
        comparison.form_cases += 1
        comparison.form_refused += 1 if isinstance(reference, Exception) else 0
        if _form_result(reference) != _form_result(result):
            comparison.form_mismatches.append(source)
    return got


def compare_chunk(items: list[tuple[str, Graph]], knowledge: Knowledge, comparison: Comparison) -> None:
    """Check the form of the chunk's cases and validate the enriched cases both ways; record every
    case whose form results or reports differ."""
    enriched: list[tuple[str, Enriched]] = []
    for (source, graph), request in zip(items, compare_forms(items, knowledge, comparison), strict=True):
        try:
            if isinstance(request, Exception):
                raise request
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


# Replacement values of a form fault: other node kinds, datatypes, lexical forms and ranges.
_FAULT_VALUES: tuple[Node, ...] = (
    Literal("x"),
    Literal("x", lang="en"),
    Literal(-1),
    Literal(11),
    Literal(101),
    Literal("7.5", datatype=XSD.decimal),
    Literal("1e1", datatype=XSD.double),
    Literal("5", datatype=XSD.int),
    Literal("true", datatype=XSD.boolean),
    Literal("1", datatype=XSD.boolean),
    Literal("2024-06-10", datatype=XSD.date),
    Literal("2031-01-01", datatype=XSD.date),
    Literal("2024-06", datatype=XSD.gYearMonth),
    Literal("2024", datatype=XSD.gYear),
    Literal("2024-06-10T10:00:00", datatype=XSD.dateTime),
    Literal("L4-L5"),
    Literal("L4-L5\n"),
    Literal("WA"),
    IP.Lumbar,
    IP.Left,
    IP.PhysicalTherapy,
    IP.InitialPhase,
    IP.Patient,
    URIRef(f"{CASE}elsewhere"),
)
_FAULT_TYPES = (IP.Patient, IP.PainAssessment, IP.ProcedureRecord, IP.Condition, IP.ClinicalFinding, IP.ServiceLine)


def form_fault(graph: Graph, rng: random.Random) -> Graph:
    """The case with one to three form faults: a value replaced, a value repeated with another, a
    statement left out, or a node given another type."""
    triples = sorted(graph, key=lambda t: (str(t[0]), str(t[1]), str(t[2])))
    for _ in range(rng.randint(1, 3)):
        if not triples:
            break
        s, p, o = triples[rng.randrange(len(triples))]
        kind = rng.choice(("replace", "replace", "repeat", "drop", "retype", "blank"))
        if kind == "replace" and p != RDF.type:
            triples.remove((s, p, o))
            triples.append((s, p, rng.choice(_FAULT_VALUES)))
        elif kind == "repeat" and p != RDF.type:
            triples.append((s, p, rng.choice(_FAULT_VALUES)))
        elif kind == "drop":
            triples.remove((s, p, o))
        elif kind == "retype":
            triples.append((s, RDF.type, rng.choice(_FAULT_TYPES)))
        elif kind == "blank" and p != RDF.type:
            triples.remove((s, p, o))
            triples.append((s, p, BNode(f"fault{rng.randrange(1000)}")))
    faulty = Graph()
    for triple in triples:
        faulty.add(triple)
    return faulty


def form_variants(count: int, seed: int = 7) -> Iterator[tuple[str, Graph]]:
    """``count`` generated cases, each with form faults (``form_fault``)."""
    rng = random.Random(seed)
    for name, graph in generate(count, seed):
        yield f"{name}-faulty", form_fault(graph, rng)


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
                print(
                    f"  {comparison.cases} compared, {len(comparison.mismatches)} mismatches, "
                    f"{len(comparison.form_mismatches)} form mismatches",
                    file=sys.stderr,
                    flush=True,
                )
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
    parser.add_argument("--form-variants", type=int, default=0, help="how many generated cases with form faults to compare")
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
    if args.form_variants:
        k, n = (int(x) for x in args.part.split("/"))
        faulty = (item for number, item in enumerate(form_variants(args.form_variants, args.seed)) if number % n == k - 1)
        out["form_variants"] = run(faulty, args.chunk, knowledge, True).as_json()
    out["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(out, indent=2))
    if any(part.get("mismatches") or part.get("form_mismatches") for part in out.values() if isinstance(part, dict)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
