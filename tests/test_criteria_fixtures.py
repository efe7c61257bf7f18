"""Per-criterion fixture pairs, found by one parametrized test keyed by criterion id.

Layout: ``tests/criteria/<CRITERION-ID>/<expectation>-<name>.ttl`` where <expectation> is
``met``, ``not-met`` or ``not-documented``. Each file is a complete case. The test compares the
set of (focus node, source shape, severity, status) of the criterion's validation results with
the expectation: none for ``met``, exactly one per request for the other two.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF

from kb.engine import determine_file
from kb.knowledge import Knowledge, load_knowledge
from kb.namespaces import IP, SH

CRITERIA_DIR = Path(__file__).resolve().parent / "criteria"
EXPECTATIONS = {"met": None, "not-met": IP.NotMet, "not-documented": IP.NotDocumented}


def _expectation(path: Path) -> str:
    for key in sorted(EXPECTATIONS, key=len, reverse=True):
        if path.name.startswith(key + "-"):
            return key
    raise ValueError(f"{path}: file name must start with met-, not-met- or not-documented-")


def _fixtures() -> list[tuple[str, Path]]:
    return sorted((p.parent.name, p) for p in CRITERIA_DIR.glob("*/*.ttl"))


@pytest.mark.parametrize(("criterion_id", "path"), _fixtures(), ids=[f"{c}/{p.stem}" for c, p in _fixtures()])
def test_criterion_fixture(criterion_id: str, path: Path, knowledge: Knowledge) -> None:
    criterion = knowledge.criteria_by_id[criterion_id]
    determination = determine_file(path)
    report = determination.report
    shape = criterion.shape
    assert shape is not None
    seen = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if report.value(result, SH.sourceShape) != shape:
            continue
        constraint = report.value(result, SH.sourceConstraint)
        status = knowledge.constraint_status.get(constraint) if constraint is not None else None
        seen.add(
            (
                report.value(result, SH.focusNode),
                shape,
                report.value(result, SH.resultSeverity),
                status,
            )
        )
    expectation = EXPECTATIONS[_expectation(path)]
    assert criterion.target_classes & set(determination.case_graph.objects(determination.request, RDF.type)), (
        f"{criterion_id} does not apply to the fixture's request"
    )
    if expectation is None:
        assert seen == set()
    else:
        assert seen == {(determination.request, shape, criterion.severity, expectation)}
        assert all(
            m.startswith(criterion_id)
            for r in determination.results
            if r.criterion.iri == criterion.iri
            for m in r.messages
        )


def test_every_criterion_has_a_passing_and_a_failing_fixture() -> None:
    knowledge = load_knowledge()
    missing = []
    for criterion_id in sorted(knowledge.criteria_by_id):
        kinds = {_expectation(p) for p in (CRITERIA_DIR / criterion_id).glob("*.ttl")}
        if "met" not in kinds or not kinds & {"not-met", "not-documented"}:
            missing.append(criterion_id)
    assert missing == [], f"criteria without a met and a failing fixture: {missing}"


def test_fixture_directories_name_known_criteria() -> None:
    knowledge = load_knowledge()
    unknown = [d.name for d in CRITERIA_DIR.iterdir() if d.is_dir() and d.name not in knowledge.criteria_by_id]
    assert unknown == []
