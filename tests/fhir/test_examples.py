"""examples/fhir/ is in sync with examples/cases/, and every example decides the same through FHIR.

The FHIR side goes bundle -> ``read_bundle`` -> ``map_bundle`` -> the engine; the Turtle/JSON-LD side
is the case file itself. Both determinations must agree on the outcome, guideline(s), phase, covered
codes, reason categories, deciding criteria (id and status), every criterion's status, missing
documentation, pathways met, and per covered line its code, primary flag, levels, side and units.
(Messages are left out: some list values in set order.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kb.engine import determine_file, determine_graph
from kb.fhir.bundle import read_bundle
from kb.fhir.examples import bundle_name, case_files, expected_bundles
from kb.fhir.mapper import map_bundle
from kb.knowledge import Knowledge
from kb.resources import examples_dir

FHIR_DIR = examples_dir() / "fhir"
CASES = case_files()


def decision(machine: dict[str, Any]) -> dict[str, Any]:
    fields = ("outcome", "guideline", "guidelines", "phase", "cptCodes", "reasonCategories", "satisfiedPathways")
    out = {name: machine[name] for name in fields}
    out["deciding"] = [(c["criterionId"], c["status"]) for c in machine["decidingCriteria"]]
    out["criteria"] = sorted((c["criterionId"], c["status"]) for c in machine["criteria"])
    out["missing"] = [(m["criterionId"], m["item"]) for m in machine["missingDocumentation"]]
    out["lines"] = [(x["cptCode"], x["primary"], x["levels"], x["side"], x["units"]) for x in machine["lines"]]
    return out


def test_every_example_case_has_its_bundle_and_no_other() -> None:
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in FHIR_DIR.glob("*.json")}
    expected = expected_bundles()
    assert len(expected) == len(CASES) > 150
    assert sorted(on_disk) == sorted(expected), "run: python -m kb.fhir.examples"
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert not stale, f"out of date (run: python -m kb.fhir.examples): {stale[:5]}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_example_decides_the_same_through_fhir(case: Path, knowledge: Knowledge) -> None:
    bundle = read_bundle((FHIR_DIR / f"{bundle_name(case)}.json").read_bytes(), 32)
    mapped = map_bundle(bundle, knowledge)
    through_fhir = determine_graph(mapped.graph, "fhir", knowledge).as_json()
    through_case = determine_file(case, knowledge).as_json()
    assert decision(through_fhir) == decision(through_case)
    # Every element of the mapped resources is read: only the payer, provider and coverage entries are unused.
    assert {i.diagnostics for i in mapped.unmapped} <= {"Organization is not used", "Coverage is not used"}
