"""The bundled example cases give the outcomes recorded in examples/expected/*.json.

Each entry maps a file name in examples/cases to its expected outcome, reason categories, deciding
criterion ids and the criterion ids of its missing-documentation items; the examples with service lines
also record the codes the determination covers (``cptCodes``) and the guidelines it was reviewed under.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NotRequired, TypedDict

import pytest

from kb.engine import determine_file

REPO_ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = REPO_ROOT / "examples" / "cases"
EXPECTED_DIR = REPO_ROOT / "examples" / "expected"
CASE_SUFFIXES = {".ttl", ".jsonld"}


class Expected(TypedDict):
    outcome: str
    reasonCategories: list[str]
    decidingCriteria: list[str]
    missingDocumentationCriteria: list[str]
    cptCodes: NotRequired[list[str]]
    guidelines: NotRequired[list[str]]


def _expected() -> dict[str, Expected]:
    """All expected outcomes, one JSON file per guideline in examples/expected/."""
    data: dict[str, Expected] = {}
    for path in sorted(EXPECTED_DIR.glob("*.json")):
        part: dict[str, Expected] = json.loads(path.read_text(encoding="utf-8"))
        duplicated = set(part) & set(data)
        assert not duplicated, f"{path.name} repeats {sorted(duplicated)}"
        data.update(part)
    return data


EXPECTED = _expected()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_outcome(name: str) -> None:
    expected = EXPECTED[name]
    result = determine_file(CASES_DIR / name).as_json()
    assert result["outcome"] == expected["outcome"]
    assert set(result["reasonCategories"]) == set(expected["reasonCategories"])
    assert sorted(c["criterionId"] for c in result["decidingCriteria"]) == sorted(expected["decidingCriteria"])
    assert sorted(m["criterionId"] for m in result["missingDocumentation"]) == sorted(
        expected["missingDocumentationCriteria"]
    )
    if "cptCodes" in expected:
        assert result["cptCodes"] == expected["cptCodes"]
        assert [line["cptCode"] for line in result["lines"]] == expected["cptCodes"]
    if "guidelines" in expected:
        assert result["guidelines"] == expected["guidelines"]


def test_every_example_case_has_an_expected_outcome() -> None:
    files = {p.name for p in CASES_DIR.iterdir() if p.is_file() and p.suffix in CASE_SUFFIXES}
    assert files, "no example cases found"
    assert sorted(files - set(EXPECTED)) == []
    assert sorted(set(EXPECTED) - files) == []


def test_new_episode_example_warns_about_the_new_episode() -> None:
    result = determine_file(CASES_DIR / "cg300-new-episode-approved.ttl").as_json()
    assert result["phase"] == "initial"
    assert {w["criterionId"] for w in result["warnings"]} == {"CG300-N-EPISODE"}


def test_levels_of_every_line_are_counted() -> None:
    """CG300-N-TFLEVELS counts the levels of the primary line and of its add-on lines."""
    two = determine_file(CASES_DIR / "cg300-lines-tf-two-levels-approved.ttl").as_json()
    three = determine_file(CASES_DIR / "cg300-lines-tf-three-levels-approved.ttl").as_json()
    assert [w["criterionId"] for w in two["warnings"]] == []
    assert [w["criterionId"] for w in three["warnings"]] == ["CG300-N-TFLEVELS"]
    assert "3 transforaminal levels" in three["warnings"][0]["message"]
