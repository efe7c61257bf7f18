"""Determinations per second over generated cases, single process, with peak memory.

Usage: .venv/bin/python benchmarks/run_benchmark.py [--cases 1000] [--seed 7] [--json]

Cases are generated from benchmarks/case-template.ttl with varied dates, scores, pain character,
prior injections and member state, so every outcome and phase occurs. The ontology and shapes
load once (reported separately); each case then goes through the full path: parse, form checks,
enrichment, pySHACL validation, decision. Time per stage is reported so ratios can be compared
within one run (absolute figures depend on the machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.knowledge import load_knowledge  # noqa: E402
from kb.pipeline.caseform import check_case_form  # noqa: E402
from kb.pipeline.caseio import TURTLE, parse_case  # noqa: E402
from kb.pipeline.determination import decide  # noqa: E402
from kb.pipeline.enrichment import enrich  # noqa: E402
from kb.pipeline.validation import validate_case  # noqa: E402

TEMPLATE = Template((Path(__file__).resolve().parent / "case-template.ttl").read_text(encoding="utf-8"))


def generate(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        dos = dt.date(2024, 3, 1) + dt.timedelta(days=rng.randrange(0, 600))
        onset = dos - dt.timedelta(days=rng.choice([30, 60, 120, 400]))
        pt_start = dos - dt.timedelta(days=rng.choice([20, 50, 90, 200]))
        pt_end = min(dos, pt_start + dt.timedelta(days=rng.choice([10, 21, 45, 60])))
        prior = dos - dt.timedelta(days=rng.choice([10, 30, 90, 800]))
        cases.append(
            TEMPLATE.substitute(
                i=i,
                cpt=rng.choice(["CPT_62323", "CPT_64483", "CPT_62322"]),
                dos=dos.isoformat(),
                state=rng.choice(["TX", "WA", "NY"]),
                assessed=(dos - dt.timedelta(days=3)).isoformat(),
                score=rng.randrange(3, 11),
                onset=onset.isoformat(),
                character=rng.choice(["Radicular", "Axial"]),
                pt_start=pt_start.isoformat(),
                pt_end=pt_end.isoformat(),
                prior=prior.isoformat(),
                relief=rng.choice([20, 40, 60, 80]),
            )
        )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    start = time.perf_counter()
    knowledge = load_knowledge()
    load_seconds = time.perf_counter() - start
    texts = generate(args.cases, args.seed)
    stages: dict[str, float] = dict.fromkeys(("parse", "form", "enrich", "validate", "decide"), 0.0)
    outcomes: Counter[str] = Counter()
    begin = time.perf_counter()
    for index, text in enumerate(texts, 1):
        t0 = time.perf_counter()
        graph = parse_case(text, TURTLE, f"case {index}")
        t1 = time.perf_counter()
        request = check_case_form(graph, knowledge, f"case {index}")
        t2 = time.perf_counter()
        enriched = enrich(graph, request, knowledge, f"case {index}")
        t3 = time.perf_counter()
        conforms, report = validate_case(enriched.graph, knowledge, enriched.request)
        t4 = time.perf_counter()
        outcomes[decide(enriched, conforms, report, knowledge, f"case {index}").outcome] += 1
        t5 = time.perf_counter()
        for name, seconds in (("parse", t1 - t0), ("form", t2 - t1), ("enrich", t3 - t2),
                              ("validate", t4 - t3), ("decide", t5 - t4)):
            stages[name] += seconds
        if not args.json and index % max(1, args.cases // 10) == 0:
            print(f"  {index}/{args.cases} cases", file=sys.stderr, flush=True)
    total = time.perf_counter() - begin
    figures = {
        "cases": args.cases,
        "knowledge_load_seconds": round(load_seconds, 3),
        "total_seconds": round(total, 2),
        "determinations_per_second": round(args.cases / total, 1),
        "mean_ms_per_case": round(1000 * total / args.cases, 2),
        "ms_per_case_by_stage": {k: round(1000 * v / args.cases, 2) for k, v in stages.items()},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outcomes": dict(sorted(outcomes.items())),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
