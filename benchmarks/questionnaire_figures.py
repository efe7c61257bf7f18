"""Figures of docs/questionnaires.md on the example cases: pends completed favourably and unfavourably,
denials with a verified counterfactual or a stated reason, and how long the searches took.

    .venv/bin/python benchmarks/questionnaire_figures.py

Each search is bounded as tests/test_questionnaires.py bounds it (200 evaluations, no time limit that
a loaded machine could reach), so the counts do not depend on the machine; the times do. The
``--service-bound`` run uses the service's default bound (IPKG_COUNTERFACTUAL_EVALUATIONS and
IPKG_COUNTERFACTUAL_SECONDS) for the denials instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from api.settings import Settings
from kb.counterfactual.explain import explain
from kb.engine import determine_graph
from kb.knowledge import load_knowledge
from kb.pipeline.caseio import read_case_file
from kb.questionnaire.completion import MET, NOT_MET, complete
from kb.questionnaire.facts import copy_graph
from kb.questionnaire.missing import missing_items
from kb.questionnaire.search import Budget

ROOT = Path(__file__).resolve().parent.parent
EVALUATIONS = 200
SECONDS = 600.0


def _expected() -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for path in sorted((ROOT / "examples" / "expected").glob("*.json")):
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--service-bound", action="store_true", help="bound the denials' searches as the service does")
    args = parser.parse_args()
    knowledge = load_knowledge()
    expected = _expected()
    pended = sorted(n for n, e in expected.items() if e["outcome"] == "pended" and e["missingDocumentationCriteria"])
    denied = sorted(n for n, e in expected.items() if e["outcome"] == "denied")
    outcomes: dict[str, Counter[str]] = {MET: Counter(), NOT_MET: Counter()}
    for name in pended:
        case = read_case_file(ROOT / "examples" / "cases" / name)
        det = determine_graph(copy_graph(case), name, knowledge)
        items = missing_items(case, det, knowledge)
        for target in (MET, NOT_MET):
            outcomes[target][complete(case, det, items, knowledge, target, Budget(EVALUATIONS, SECONDS)).outcome] += 1
    settings = Settings()
    service = (settings.counterfactual_evaluations, settings.counterfactual_seconds)
    bound = service if args.service_bound else (EVALUATIONS, SECONDS)
    results: Counter[str] = Counter()
    times: list[float] = []
    for name in denied:
        case = read_case_file(ROOT / "examples" / "cases" / name)
        det = determine_graph(copy_graph(case), name, knowledge)
        started = time.perf_counter()
        explanation = explain(case, det, knowledge, *bound)
        elapsed = time.perf_counter() - started
        if explanation.counterfactuals:
            results["counterfactual"] += 1
            times.append(elapsed)
        else:
            results[explanation.reason or "none"] += 1
    print(f"pended for missing documentation: {len(pended)}")
    print(f"  answered favourably: {dict(outcomes[MET])}")
    print(f"  answered unfavourably: {dict(outcomes[NOT_MET])}")
    print(f"denied: {len(denied)} (bound: {bound[0]} evaluations, {bound[1]:g} s)")
    print(f"  {dict(results)}")
    if times:
        print(
            f"  search that found a counterfactual: median {statistics.median(times):.1f} s, "
            f"{min(times):.1f} s to {max(times):.1f} s"
        )


if __name__ == "__main__":
    main()
