"""The three-valued rule checked by completing what a case leaves undocumented (docs/architecture.md).

- A pend is live and its list exact: for every not-documented fixture, some completion of the
  facts the criterion reads makes it met, and some makes it not met.
- A "not met" is final: for every not-met fixture, no completion found by the search makes it met.

The completions are built from the ontology (kb/completion/): each fact the
criterion's shape reads that the case does not record gets the candidate values of its range.
"""

from __future__ import annotations

import tomllib
from functools import partial
from pathlib import Path

import pytest

from kb.completion.search import Seen, search
from kb.completion.status import criterion_status
from kb.completion.unknowns import apply, unknowns
from kb.knowledge import Knowledge, load_knowledge
from kb.pipeline.caseio import read_case_file

CRITERIA_DIR = Path(__file__).resolve().parent / "criteria"
KNOWN_GAPS = Path(__file__).resolve().parent / "three_valued" / "known-gaps.toml"


def _fixtures(prefix: str) -> list[tuple[str, Path]]:
    return sorted((p.parent.name, p) for p in CRITERIA_DIR.glob(f"*/{prefix}-*.ttl"))


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


def _with_known_gaps(items: list[tuple[str, Path]], table: str) -> list[object]:
    """The fixtures as parameters; those listed in known-gaps.toml are strict expected failures with their reason."""
    with KNOWN_GAPS.open("rb") as handle:
        gaps = tomllib.load(handle)
    params: list[object] = []
    for criterion_id, path in items:
        ident = f"{criterion_id}/{path.stem}"
        reason = gaps["reasons"][gaps[table][ident]] if ident in gaps[table] else None
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(criterion_id, path, id=ident, marks=marks))
    return params


PENDED = _with_known_gaps(_fixtures("not-documented"), "live_pend")
NOT_MET = _with_known_gaps(_fixtures("not-met"), "final_not_met")


@pytest.mark.parametrize(("criterion_id", "path"), PENDED)
def test_a_pend_is_live(criterion_id: str, path: Path, knowledge: Knowledge) -> None:
    criterion = knowledge.criteria_by_id[criterion_id]
    case = read_case_file(path)
    evaluate = partial(criterion_status, knowledge=knowledge, criterion=criterion, check_form=True)
    assert evaluate(case) == "not-documented"
    found = unknowns(case, knowledge, criterion, further_records=True)
    described = [u.describe() for u in found]
    assert found, f"{criterion_id} is pended, but the case leaves nothing it reads undocumented"
    seen: Seen = {}
    best, _ = search(case, found, "met", evaluate, apply, seen=seen)
    assert best == "met", f"{criterion_id}: no completion of {described} makes it met (best: {best})"
    worst, _ = search(case, found, "not-met", evaluate, apply, seen=seen)
    assert worst == "not-met", f"{criterion_id}: no completion of {described} makes it not met (best: {worst})"


@pytest.mark.parametrize(("criterion_id", "path"), NOT_MET)
def test_a_not_met_criterion_has_no_completion_that_meets_it(criterion_id: str, path: Path, knowledge: Knowledge) -> None:
    criterion = knowledge.criteria_by_id[criterion_id]
    case = read_case_file(path)
    evaluate = partial(criterion_status, knowledge=knowledge, criterion=criterion, check_form=True)
    assert evaluate(case) == "not-met"
    found = unknowns(case, knowledge, criterion)
    best, completion = search(case, found, "met", evaluate, apply)
    assert best != "met", (
        f"{criterion_id} is not met, but documenting {[(u.describe(), str(v)) for u, v in completion.items()]} meets it"
    )
