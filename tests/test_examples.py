"""The bundled example cases give the outcomes recorded in examples/expected/*.json.

Each entry maps a file name in examples/cases to its expected outcome, reason categories, deciding
criterion ids and the criterion ids of its missing-documentation items.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

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


def test_every_example_case_has_an_expected_outcome() -> None:
    files = {p.name for p in CASES_DIR.iterdir() if p.is_file() and p.suffix in CASE_SUFFIXES}
    assert files, "no example cases found"
    assert sorted(files - set(EXPECTED)) == []
    assert sorted(set(EXPECTED) - files) == []


def test_new_episode_example_warns_about_the_new_episode() -> None:
    result = determine_file(CASES_DIR / "cg300-new-episode-approved.ttl").as_json()
    assert result["phase"] == "initial"
    assert {w["criterionId"] for w in result["warnings"]} == {"CG300-N-EPISODE"}
