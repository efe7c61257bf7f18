"""The set-based validator against pySHACL: isomorphic reports on every fixture, example and a generated sample.

pySHACL stays the reference. ``python -m kb.batch.differential --generated 10000 --fixtures`` is the
long run (docs/benchmark.md); CI runs every criterion fixture, every example case, and a sample of
generated cases of all eight guidelines.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.compare import isomorphic

from kb.batch.differential import Comparison, compare_chunk, files, fixture_and_example_files, form_variants
from kb.batch.formscreen import cases_to_check, compile_screen
from kb.batch.generate import generate
from kb.batch.setvalidation import validate_cases
from kb.batch.shape_plans import shape_plans
from kb.errors import KnowledgeGraphError
from kb.knowledge import Knowledge
from kb.namespaces import IPS, SH
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import read_case_file
from kb.pipeline.enrichment import enrich
from kb.pipeline.validation import validate_case

from .conftest import REPO_ROOT

CHUNK = 200
ALL_FILES = fixture_and_example_files(REPO_ROOT)
CHUNKS = [ALL_FILES[i : i + CHUNK] for i in range(0, len(ALL_FILES), CHUNK)]
GENERATED = int(os.environ.get("IPKG_DIFFERENTIAL_CASES", "80"))
FORM_VARIANTS = int(os.environ.get("IPKG_DIFFERENTIAL_FORM_VARIANTS", "240"))


@pytest.mark.parametrize("paths", CHUNKS, ids=[f"files-{i * CHUNK}" for i in range(len(CHUNKS))])
def test_fixtures_and_examples_give_pyshacls_reports(paths: list[Path], knowledge: Knowledge) -> None:
    comparison = Comparison()
    compare_chunk(list(files(paths)), knowledge, comparison)
    assert comparison.cases + comparison.refused == len(paths)
    assert comparison.results > 0
    assert comparison.mismatches == []
    assert comparison.form_cases == len(paths)
    assert comparison.form_mismatches == []


def test_every_fixture_and_example_is_compared() -> None:
    assert len(ALL_FILES) > 1000
    assert sum(len(c) for c in CHUNKS) == len(ALL_FILES)


def test_generated_cases_of_all_eight_guidelines_give_pyshacls_reports(knowledge: Knowledge) -> None:
    comparison = Comparison()
    compare_chunk(list(generate(GENERATED, seed=11)), knowledge, comparison)
    assert set(comparison.guidelines) == {
        "NIA_CG_300", "NIA_CG_301", "NIA_CG_302", "NIA_CG_305", "NIA_CG_310", "NIA_CG_404", "NIA_CG_405", "NIA_CG_408",
    }
    assert comparison.nonconforming > 0
    assert comparison.mismatches == []
    assert comparison.form_cases == GENERATED and comparison.form_mismatches == []


def test_every_criterion_shape_is_evaluated_set_based(knowledge: Knowledge) -> None:
    """No criterion shape falls back to pySHACL today; the GROUP_CONCAT constraints run on rdflib."""
    plans = shape_plans(knowledge)
    assert len(plans) == len({c.shape for c in knowledge.criteria.values() if c.shape is not None})
    assert not [p.shape for p in plans.values() if p.by_pyshacl]
    per_focus = [c.node for p in plans.values() for c in p.constraints if c.set_query is None]
    assert per_focus, "the GROUP_CONCAT constraints are evaluated per focus node"
    assert all(c.by_rdflib for p in plans.values() for c in p.constraints if c.set_query is None)


def test_a_shape_with_core_constraints_is_validated_by_pyshacl(knowledge: Knowledge) -> None:
    """A criterion shape with a property shape (a core constraint component) goes to pySHACL, and the
    report is still pySHACL's."""
    shapes = Graph()
    for triple in knowledge.shapes:
        shapes.add(triple)
    extra = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ips: <https://w3id.org/ipkg/shapes#> .
        @prefix ip: <https://w3id.org/ipkg/ontology#> .
        ips:CG300-PAIN sh:property [ sh:path ip:spinalLevel ; sh:minCount 3 ; sh:message "three levels (test)" ] .
        """,
        format="turtle",
    )
    for triple in extra:
        shapes.add(triple)
    changed = Knowledge(knowledge.ontology, shapes, knowledge.form_shapes)
    assert shape_plans(changed)[IPS["CG300-PAIN"]].by_pyshacl
    items = []
    for name in ("cg300-acute-approved.ttl", "cg300-acute-denied.ttl", "cg301-diagnostic-repeat-approved.ttl"):
        path = REPO_ROOT / "examples" / "cases" / name
        graph = read_case_file(path)
        enriched = enrich(graph, check_case_form(graph, changed, name), changed, name)
        items.append((enriched.graph, enriched.request))
    got = validate_cases(items, changed)
    messages = set()
    for (graph, request), (conforms, report) in zip(items, got, strict=True):
        ref_conforms, ref_report = validate_case(graph, changed, request)
        assert conforms == ref_conforms
        assert isomorphic(report, ref_report)
        messages |= set(report.objects(None, SH.resultMessage))
    assert Literal("three levels (test)") in messages


# -- form checks: the case-form shapes screened over the chunk -------------------------------------


def test_cases_with_form_faults_get_the_single_request_form_problems(knowledge: Knowledge) -> None:
    """Generated cases with form faults: the batch path's form results are the single-request path's,
    and the screen is exercised both ways (cases it clears, cases whose shape problems it leaves to pySHACL)."""
    items = list(form_variants(FORM_VARIANTS, seed=5))
    comparison = Comparison()
    compare_chunk(items, knowledge, comparison)
    assert comparison.form_cases == len(items)
    assert comparison.form_mismatches == []
    assert comparison.mismatches == []
    flagged = cases_to_check([graph for _, graph in items], knowledge)
    shapes_matter = 0
    for index, (source, graph) in enumerate(items):
        results = []
        for skip in (False, True):
            try:
                results.append(str(check_case_form(graph, knowledge, source, form_shapes_conform=skip)))
            except Exception as exc:
                results.append(str(exc))
        if results[0] != results[1]:
            shapes_matter += 1
            assert index in flagged, source
    assert shapes_matter > 10
    assert 0 < len(flagged) < len(items)


def test_the_form_screen_compiles_every_case_form_shape(knowledge: Knowledge) -> None:
    screen = compile_screen(knowledge.form_shapes)
    assert screen.incomplete == ()
    targeted = {s for p in (SH.targetClass, SH.targetSubjectsOf) for s in knowledge.form_shapes.subjects(p, None)}
    assert len(screen.queries) == len(targeted) > 20


def test_a_form_shape_the_screen_cannot_compile_sends_every_case_to_pyshacl(knowledge: Knowledge) -> None:
    shapes = Graph()
    for triple in knowledge.form_shapes:
        shapes.add(triple)
    shapes.parse(
        data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ip: <https://w3id.org/ipkg/ontology#> .
        <urn:test:TwoLevels> a sh:NodeShape ; sh:targetClass ip:PriorAuthorizationRequest ;
          sh:property [ sh:path ip:spinalLevel ; sh:minCount 2 ] .""",
        format="turtle",
    )
    changed = Knowledge(knowledge.ontology, knowledge.shapes, shapes)
    assert [reason for reason in compile_screen(shapes).incomplete if "TwoLevels" in reason]
    names = ("cg300-acute-approved.ttl", "cg300-acute-denied.ttl")
    graphs = [read_case_file(REPO_ROOT / "examples" / "cases" / name) for name in names]
    assert cases_to_check(graphs, changed) == {0, 1}
    assert cases_to_check(graphs, knowledge) == set()


def test_no_chunk_leaves_case_terms_in_the_threads_scratch_graph(knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch) -> None:
    """The constraints evaluated by rdflib run over a scratch graph of the axioms to which each case is
    added and from which it is removed; rdflib's memory store keeps an index entry for every term it
    ever held, so a scratch graph kept past its chunk grew with every case decided (a Dask worker
    grew by about 10 MiB per 1,000 cases). No chunk may leave it behind."""
    from kb.batch import setvalidation

    calls = []
    rdflib_rows = setvalidation._rdflib_rows

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return rdflib_rows(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(setvalidation, "_rdflib_rows", counted)
    items = []
    for name, graph in generate(60, seed=3):
        try:
            enriched = enrich(graph, check_case_form(graph, knowledge, name), knowledge, name)
        except KnowledgeGraphError:
            continue
        items.append((enriched.graph, enriched.request))
    validate_cases(items, knowledge)
    assert calls, "no case of the sample reached a constraint evaluated by rdflib"
    assert getattr(setvalidation._SCRATCH, "graph", None) is None
