"""A case's report messages are the same in every process, and list what they list in the guideline's order.

A message that joins several items (the provocative tests not recorded, the signs not recorded) once
took its order from the SPARQL engine's evaluation, which in rdflib follows Python's string hashing:
the same case got differently worded reports from two processes. The constraints now build such
texts in a fixed order (the guideline's list), so a report is reproducible, and the set-based
validator evaluates them over a whole chunk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CRITERIA = REPO_ROOT / "tests" / "criteria"
# The provocative tests of NIA_CG_305, in the order the guideline lists them.
GUIDELINE_ORDER = (
    "PelvicDistractionTest",
    "PelvicCompressionTest",
    "ThighThrustTest",
    "FABERTest",
    "PosteriorShearTest",
    "YeomansTest",
    "GaenslensTest",
)
CASES = {
    "CG305-SIJ-EXAM": CRITERIA / "CG305-SIJ-EXAM" / "not-documented-two-tests-negative-five-not-recorded.ttl",
    "CG305-R-EXAM": CRITERIA / "CG305-R-EXAM" / "not-documented-repeat-exam-one-test-negative-six-not-recorded.ttl",
}
_SCRIPT = """
import json, sys
from pathlib import Path
from kb.engine import determine_file
from kb.namespaces import SH
out = {}
for path in sys.argv[1:]:
    report = determine_file(Path(path)).report
    out[path] = sorted(str(m) for m in report.objects(None, SH.resultMessage))
print(json.dumps(out))
"""


def _messages_in_process(hash_seed: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *map(str, CASES.values())],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        check=True,
        capture_output=True,
        text=True,
    )
    messages: dict[str, list[str]] = json.loads(done.stdout)
    return messages


@pytest.fixture(scope="module")
def messages_by_seed() -> list[dict[str, list[str]]]:
    return [_messages_in_process(seed) for seed in ("1", "2", "3")]


def test_two_processes_with_different_string_hashing_word_a_report_the_same(messages_by_seed: list[dict[str, list[str]]]) -> None:
    first, *others = messages_by_seed
    assert all(any(" not documented: " in m for m in messages) for messages in first.values())
    for other in others:
        assert other == first


@pytest.mark.parametrize("criterion_id", sorted(CASES))
def test_the_tests_not_recorded_are_listed_in_the_guidelines_order(
    criterion_id: str, messages_by_seed: list[dict[str, list[str]]]
) -> None:
    [message] = [m for m in messages_by_seed[0][str(CASES[criterion_id])] if m.startswith(f"{criterion_id} not documented:")]
    named = [test for test in GUIDELINE_ORDER if f"the {test} is not recorded" in message]
    assert len(named) >= 5, message
    positions = [message.index(f"the {test} is not recorded") for test in named]
    assert positions == sorted(positions), message
