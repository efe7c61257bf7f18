"""Safety net of the three-valued rule (docs/architecture.md, "The three-valued rule").

Run over every criterion fixture (``tests/criteria/<id>/*.ttl``), these tests change the case in ways
whose effect on the criterion the rule fixes, and compare the criterion's status before and after:

- a documented negative is never counted as present: in a met fixture, turning a recorded fact that the
  criterion needs into a documented negative (``ip:present false``) never leaves the criterion met, and
  never gives a better status than not recording the fact at all;
- facts the criterion does not read never change its status: free notes on every node, and a condition
  and a finding of types that neither the criterion's shape nor the engine's derivations mention.

Statuses are ordered not met < not documented < met.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.completion.reads import shape_text
from kb.completion.status import NOT_APPLICABLE, RANK, criterion_status
from kb.engine import determine_graph
from kb.knowledge import CriterionInfo, Knowledge, load_knowledge
from kb.namespaces import IP
from kb.pipeline.caseio import read_case_file

CRITERIA_DIR = Path(__file__).resolve().parent / "criteria"
ROOT = Path(__file__).resolve().parents[1]
FACT_TYPES = (IP.Condition, IP.ClinicalFinding, IP.DocumentedMedicalReason)
KIND_PROPERTIES = {IP.Condition: IP.conditionType, IP.ClinicalFinding: IP.findingType}


def _fixtures(prefix: str = "") -> list[tuple[str, Path]]:
    return sorted((p.parent.name, p) for p in CRITERIA_DIR.glob(f"*/{prefix}*.ttl"))


def _ids(items: list[tuple[str, Path]]) -> list[str]:
    return [f"{c}/{p.stem}" for c, p in items]


def status_of(case: Graph, criterion: CriterionInfo) -> str:
    """The criterion's status for ``case`` (only its own shape is validated)."""
    return criterion_status(case, load_knowledge(), criterion, check_form=True)


def fact_nodes(case: Graph) -> list[Node]:
    """The recorded conditions, findings and medical reasons of a case (the facts a documented negative can
    deny; a medical reason recorded absent must not invoke the clause it names)."""
    nodes = {n for t in FACT_TYPES for n in case.subjects(RDF.type, t)}
    return sorted(nodes, key=str)


def without(case: Graph, node: Node) -> Graph:
    """The case as if the fact had never been recorded."""
    result = Graph()
    for s, p, o in case:
        if node not in (s, o):
            result.add((s, p, o))
    return result


def negated(case: Graph, node: Node) -> Graph:
    """The case with the fact recorded as examined and absent."""
    result = Graph()
    for s, p, o in case:
        if s == node and p in (IP.present, IP.testPositive):
            continue
        result.add((s, p, o))
    result.add((node, IP.present, Literal(False)))
    return result


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


MET_FIXTURES = _fixtures("met-")


@pytest.mark.parametrize(("criterion_id", "path"), MET_FIXTURES, ids=_ids(MET_FIXTURES))
def test_a_documented_negative_is_never_counted_as_present(criterion_id: str, path: Path, knowledge: Knowledge) -> None:
    criterion = knowledge.criteria_by_id[criterion_id]
    case = read_case_file(path)
    checked = 0
    for node in fact_nodes(case):
        unrecorded = status_of(without(case, node), criterion)
        if unrecorded in ("met", NOT_APPLICABLE):
            continue  # the criterion does not need this fact
        negative = status_of(negated(case, node), criterion)
        checked += 1
        assert negative != "met", f"{criterion_id} is met when {node} is documented as absent"
        assert negative == NOT_APPLICABLE or RANK[negative] <= RANK[unrecorded], (
            f"{criterion_id}: documenting {node} as absent gives '{negative}', better than not recording it ('{unrecorded}')"
        )
    if checked == 0:
        pytest.skip("the fixture records no condition, finding or medical reason that the criterion needs")


@cache
def _engine_terms() -> frozenset[str]:
    """Local names of the ontology terms the engine's Python code refers to (its derivations read them)."""
    names: set[str] = set()
    for source in (ROOT / "kb").rglob("*.py"):
        names.update(re.findall(r"\bIP\.(\w+)", source.read_text(encoding="utf-8")))
    return frozenset(names)


def _mentioned(term: URIRef, text: str, knowledge: Knowledge) -> bool:
    """Whether the term, or a class it belongs to, is named in the text or read by the engine's code."""
    names = {str(term).split("#")[-1]}
    names.update(str(c).split("#")[-1] for c in knowledge.individual_types.get(term, ()))
    return any(re.search(rf"\bip:{re.escape(n)}\b", text) or n in _engine_terms() for n in names)


def _unread_kinds(knowledge: Knowledge, criterion: CriterionInfo, kind_class: URIRef) -> list[URIRef]:
    text = shape_text(knowledge, criterion)
    kinds = [t for t, classes in knowledge.individual_types.items() if kind_class in classes]
    return sorted((k for k in kinds if not _mentioned(k, text, knowledge)), key=str)


def _subjects(case: Graph) -> Iterator[Node]:
    seen: set[Node] = set()
    for s in case.subjects():
        if s not in seen:
            seen.add(s)
            yield s


ALL_FIXTURES = _fixtures()


@pytest.mark.parametrize(("criterion_id", "path"), ALL_FIXTURES, ids=_ids(ALL_FIXTURES))
def test_facts_the_criterion_does_not_read_never_change_its_status(criterion_id: str, path: Path, knowledge: Knowledge) -> None:
    criterion = knowledge.criteria_by_id[criterion_id]
    case = read_case_file(path)
    before = status_of(case, criterion)
    rng = random.Random(f"{criterion_id}/{path.name}")  # a fixed choice per fixture
    extended = Graph()
    for triple in case:
        extended.add(triple)
    for node in list(_subjects(case)):
        extended.add((node, IP.note, Literal("free text the clinician recorded")))
    patient = next(iter(case.subjects(RDF.type, IP.Patient)))
    added = []
    for kind_class, fact_class, link in (
        (IP.ConditionType, IP.Condition, IP.hasCondition),
        (IP.FindingType, IP.ClinicalFinding, IP.hasFinding),
    ):
        kinds = _unread_kinds(knowledge, criterion, kind_class)
        if not kinds:
            continue
        kind = rng.choice(kinds)
        fact = BNode()
        extended.add((patient, link, fact))
        extended.add((fact, RDF.type, fact_class))
        extended.add((fact, KIND_PROPERTIES[fact_class], kind))
        added.append(kind)
    after = status_of(extended, criterion)
    assert after == before, f"{criterion_id}: adding notes and {added} changed '{before}' to '{after}'"


ONE_PER_CRITERION = sorted({c: p for c, p in reversed(ALL_FIXTURES)}.items())
STATUS_NAMES = {"met": "met", "not met": "not-met", "not documented": "not-documented"}


@pytest.mark.parametrize(("criterion_id", "path"), ONE_PER_CRITERION, ids=_ids(ONE_PER_CRITERION))
def test_the_single_shape_status_is_the_determinations(criterion_id: str, path: Path, knowledge: Knowledge) -> None:
    """The tests above validate only the criterion's own shape; that gives the determination's status."""
    criterion = knowledge.criteria_by_id[criterion_id]
    case = read_case_file(path)
    determination = determine_graph(read_case_file(path), str(path))
    expected = next(STATUS_NAMES[r.status] for r in determination.results if r.criterion.iri == criterion.iri)
    assert status_of(case, criterion) == expected
