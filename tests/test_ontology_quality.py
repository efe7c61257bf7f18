"""Quality checks: each SPARQL file in tests/quality/*-violation.rq must return zero rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kb.knowledge import Knowledge

QUALITY_DIR = Path(__file__).resolve().parent / "quality"
CHECKS = sorted(QUALITY_DIR.glob("*-violation.rq"))


@pytest.fixture(scope="module")
def ontology_and_shapes(knowledge: Knowledge) -> Graph:
    return knowledge.ontology + knowledge.shapes


@pytest.mark.parametrize("check", CHECKS, ids=[c.stem for c in CHECKS])
def test_quality_check_returns_no_rows(check: Path, ontology_and_shapes: Graph) -> None:
    rows = list(ontology_and_shapes.query(check.read_text(encoding="utf-8")))
    assert rows == [], f"{check.name}: {[tuple(str(v) for v in row) for row in rows]}"  # type: ignore[union-attr]


def test_checks_detect_a_violation(knowledge: Knowledge) -> None:
    """A shape whose message lacks its criterion id is caught, so the checks are not vacuous."""
    broken = knowledge.ontology + knowledge.shapes
    broken.update(
        """PREFIX ips: <https://w3id.org/ipkg/shapes#>
           PREFIX sh: <http://www.w3.org/ns/shacl#>
           INSERT DATA { ips:CG300-PAIN sh:message "pain must be at least 6" }"""
    )
    rows = list(broken.query((QUALITY_DIR / "message-prefix-violation.rq").read_text(encoding="utf-8")))
    assert len(rows) == 1


def test_there_are_quality_checks() -> None:
    assert len(CHECKS) >= 8
