"""The batch engine: parsing, sources, chunks, the Dask runner, ``ipkg batch`` and ``ipkg replay``."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import XSD, BNode, Graph, Literal
from rdflib.compare import isomorphic

from kb.batch.chunk import decide_chunk
from kb.batch.generate import generate, nquads_lines
from kb.batch.literals import stable_in_oxigraph
from kb.batch.parsing import CaseInput, parse_input
from kb.batch.replay import replay, version_from_directory
from kb.batch.runner import CollectSink, KnowledgeVersion, run_batch
from kb.batch.sources import nquads_cases, path_cases
from kb.batch.sparql_rewrite import FOCUS_OF, RewriteError, bind_this_to_focus, with_rdflib_str
from kb.cli import main
from kb.engine import determine_file, determine_graph
from kb.knowledge import Knowledge
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import TURTLE, read_case_file
from kb.pipeline.enrichment import enrich

from .conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "cases"
MARK = f"?this <{FOCUS_OF}> <urn:shape>"
FIXTURES = sorted((REPO_ROOT / "tests" / "criteria").glob("*/*.ttl"))


# -- the rewrite of constraint texts ---------------------------------------------------------------


def test_every_group_that_reads_this_is_bound_to_the_focus_nodes() -> None:
    text = """SELECT $this ?value WHERE {
        $this <urn:p> ?x .
        { FILTER NOT EXISTS { $this <urn:q> ?y } BIND ("a" AS ?value) } UNION { BIND ("b" AS ?value) }
    }"""
    out = bind_this_to_focus(text, "urn:shape")
    # the main group, the first UNION branch and its NOT EXISTS read $this; the second branch does not
    assert out.count(MARK) == 3
    assert '{ BIND ("b" AS ?value) }' in out
    assert out.count("GRAPH ?ipkgCase {") == 1


def test_strings_iris_and_comments_are_left_alone() -> None:
    text = 'SELECT $this WHERE { $this <urn:a#b> "}{ $this" . # { $this\n FILTER (?x < 3 && ?y > 2) }'
    out = bind_this_to_focus(text, "urn:shape")
    assert out.count(MARK) == 1
    assert '"}{ $this"' in out and "# { $this" in out and "<urn:a#b>" in out


def test_a_sub_select_is_bound_inside_its_where() -> None:
    text = "SELECT $this ?value WHERE { { SELECT $this (COUNT(?x) AS ?value) WHERE { $this <urn:p> ?x } GROUP BY $this } }"
    out = bind_this_to_focus(text, "urn:shape")
    assert f"{{ SELECT $this (COUNT(?x) AS ?value) WHERE {{ {MARK}" in out
    assert out.count(MARK) == 2


def test_unbalanced_text_and_text_without_this_are_refused() -> None:
    with pytest.raises(RewriteError):
        bind_this_to_focus("SELECT $this WHERE { $this <urn:p> ?x ", "urn:shape")
    with pytest.raises(RewriteError):
        bind_this_to_focus("SELECT ?x WHERE { ?x <urn:p> ?y }", "urn:shape")


def test_str_calls_are_replaced_outside_strings_only() -> None:
    out = with_rdflib_str('SELECT ?v WHERE { BIND (CONCAT("STR(", STR(?x), STRAFTER(STR(?y), "#")) AS ?v) }')
    assert out.count("<urn:ipkg:batch:rdflibStr>(") == 2
    assert '"STR("' in out and "STRAFTER(" in out


# -- parsing and enrichment give today's facts ----------------------------------------------------


def test_oxigraph_parsing_gives_rdflibs_graph_on_the_fixtures() -> None:
    for path in FIXTURES[::3]:
        fast = parse_input(CaseInput(str(path), TURTLE, path.read_bytes()))
        assert isomorphic(fast, read_case_file(path)), path


def test_enrichment_derives_the_same_facts_after_oxigraph_parsing(knowledge: Knowledge) -> None:
    for path in [*FIXTURES[::12], *sorted(EXAMPLES.glob("*.ttl"))[::8]]:
        graphs = []
        for graph in (parse_input(CaseInput(str(path), TURTLE, path.read_bytes())), read_case_file(path)):
            request = check_case_form(graph, knowledge, str(path))
            graphs.append(enrich(graph, request, knowledge, str(path)).graph)
        # The batch path's graphs use rdflib's plain store; the comparison needs a named-graph-aware one.
        assert isomorphic(_in_default_store(graphs[0]), graphs[1]), path


def test_parsed_cases_share_one_object_per_term_and_the_table_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch parse hands out one rdflib object per IRI (the namespaces' too) and per literal, so
    rdflib's indexes match terms by identity; the tables empty themselves when full."""
    from kb import terms
    from kb.namespaces import IP

    stream = tmp_path / "cases.nq"
    stream.write_text("".join(line for name, graph in generate(2, seed=5) for line in nquads_lines(name, graph)))
    first, second = (parse_input(item) for item in nquads_cases(stream))
    first_terms = {t: t for triple in first for t in triple if not isinstance(t, BNode)}
    common = {t for triple in second for t in triple if t in first_terms}
    assert common and all(first_terms[t] is t for triple in second for t in triple if t in common)
    predicates = {p for p in first.predicates() if p.startswith(str(IP))}
    assert predicates and all(getattr(IP, p[len(str(IP)) :]) is p for p in predicates)

    monkeypatch.setattr(terms, "_IRIS", {})
    monkeypatch.setattr(terms, "_LITERALS", {})
    monkeypatch.setattr(terms, "_IRIS_LIMIT", 10)
    monkeypatch.setattr(terms, "_LITERALS_LIMIT", 10)
    [item, _] = list(nquads_cases(stream))
    again = parse_input(item)
    assert 0 < len(terms._IRIS) <= 10 and 0 < len(terms._LITERALS) <= 10
    assert isomorphic(_in_default_store(again), _in_default_store(first))


def test_oxigraph_terms_are_made_once_per_rdflib_object_an_unkept_literal_is_refused_and_the_table_stays_bounded(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kb.batch.oxterms converts each rdflib object once (a second lookup gives the same Oxigraph
    object), tells a literal the store would read back in another form (None), empties its table
    when full, and a chunk's terms go with the chunk."""
    from rdflib import XSD, Literal, URIRef

    from kb.batch import oxterms

    monkeypatch.setattr(oxterms, "_TABLE", {})
    iri = URIRef("urn:example:a")
    assert oxterms.ox_iri(iri) is oxterms.ox_iri(iri)
    assert oxterms.ox_iri(iri).value == "urn:example:a"
    date = Literal("2024-05-01", datatype=XSD.date)
    converted = oxterms.ox_literal(date)
    assert converted is not None and converted is oxterms.ox_literal(date)
    assert (converted.value, converted.datatype.value) == ("2024-05-01", str(XSD.date))
    tagged = oxterms.ox_literal(Literal("douleur", lang="fr"))
    assert tagged is not None and tagged.language == "fr"
    assert oxterms.ox_literal(Literal("5", datatype=XSD.int)) is None  # the store reads xsd:int back as xsd:integer
    assert oxterms.ox_literal(Literal("5", datatype=XSD.integer)) is not None

    monkeypatch.setattr(oxterms, "_LIMIT", 10)
    made = [URIRef(f"urn:example:{i}") for i in range(35)]
    assert [oxterms.ox_iri(t).value for t in made] == [str(t) for t in made]
    assert 0 < oxterms.table_size() <= 10

    monkeypatch.setattr(oxterms, "_LIMIT", 200_000)
    [outcome] = decide_chunk(list(path_cases(sorted(EXAMPLES.glob("*.ttl"))[:1])), knowledge).outcomes
    assert outcome.outcome is not None and oxterms.table_size() == 0


def test_no_automatic_collection_runs_while_a_chunk_is_decided_and_chunks_do_not_overlap(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's reference cycles may hold Oxigraph objects, which must be freed on the chunk's own
    thread: the automatic collector is off while a chunk is decided (and back on after it), and two
    threads of one process never decide chunks at the same time."""
    from kb.batch import chunk

    seen: list[tuple[str, bool]] = []
    validate = chunk.validate_cases

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(("start", gc.isenabled()))
        time.sleep(0.2)
        result = validate(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(("end", gc.isenabled()))
        return result

    monkeypatch.setattr(chunk, "validate_cases", watched)
    inputs = list(path_cases(sorted(EXAMPLES.glob("*.ttl"))[:2]))
    assert gc.isenabled()
    threads = [threading.Thread(target=decide_chunk, args=(inputs, knowledge)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.isenabled()
    assert [event for event, _ in seen] == ["start", "end", "start", "end"]
    assert not any(enabled for _, enabled in seen)


def test_a_case_with_invalid_n_quads_fails_with_its_line_and_the_others_are_decided(tmp_path: Path, knowledge: Knowledge) -> None:
    generated = [line for name, graph in generate(2, seed=5) for line in nquads_lines(name, graph)]
    first_case = generated[0].rsplit(" ", 2)[-2]
    broken = list(generated)
    broken[1] = broken[1].replace("<", "", 1)  # the second statement of the first case loses a bracket
    stream = tmp_path / "cases.nq"
    stream.write_text("".join(broken))
    first, second = decide_chunk(list(nquads_cases(stream)), knowledge).outcomes
    assert first.source == first_case and first.outcome is None and first.error_kind == "malformed"
    assert first.error is not None and "invalid N-Quads (from line 1)" in first.error
    assert second.outcome in ("approved", "denied", "pended", "excluded")


def _flag_chunk_work(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set while a chunk's cases are decided (between the chunk's collection set-up and its end)."""
    from kb.batch import chunk

    inside = threading.Event()
    decide_inside = chunk._decide_chunk

    def flagged(*args: object) -> object:
        inside.set()
        try:
            return decide_inside(*args)  # type: ignore[arg-type]
        finally:
            inside.clear()

    monkeypatch.setattr(chunk, "_decide_chunk", flagged)
    return inside


def test_every_collection_during_a_chunk_runs_on_the_chunks_thread_and_young_ones_still_run(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another thread that allocates all the time (a Dask worker's event loop) runs no collection
    while a chunk is decided; the chunk collects its young generations itself, between cases."""
    from kb.batch import collection

    monkeypatch.setattr(collection, "YOUNG_ALLOCATIONS", 2_000)
    in_chunk = _flag_chunk_work(monkeypatch)
    during: list[tuple[int | None, int]] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and in_chunk.is_set():
            during.append((threading.get_ident(), info["generation"]))

    stop = threading.Event()

    def allocate() -> None:
        while not stop.is_set():
            cycle: list[object] = []
            cycle.append(cycle)

    inputs = list(path_cases(sorted(EXAMPLES.glob("*.ttl"))[:4]))
    worker = threading.Thread(target=decide_chunk, args=(inputs, knowledge), kwargs={"validator": "pyshacl"})
    busy = threading.Thread(target=allocate)
    gc.callbacks.append(record)
    try:
        busy.start()
        worker.start()
        worker.join()
    finally:
        stop.set()
        busy.join()
        gc.callbacks.remove(record)
    assert {thread for thread, _ in during} == {worker.ident}
    assert any(generation < 2 for _, generation in during), "no young collection ran during the chunk"
    assert gc.isenabled()


def test_a_set_based_chunk_runs_no_young_collection_and_one_full_collection_ends_it(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set-based validation leaves little cyclic garbage: its chunk asks for no young collection
    between cases however much it allocates; the full collection at its end frees its cycles."""
    from kb.batch import collection

    monkeypatch.setattr(collection, "YOUNG_ALLOCATIONS", 2_000)
    generations: list[int] = []
    inside = _flag_chunk_work(monkeypatch)

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and (inside.is_set() or not gc.isenabled()):
            generations.append(info["generation"])

    inputs = list(path_cases(sorted(EXAMPLES.glob("*.ttl"))[:4]))
    gc.callbacks.append(record)
    try:
        result = decide_chunk(inputs, knowledge)
    finally:
        gc.callbacks.remove(record)
    assert generations == [2]
    assert all(o.outcome is not None for o in result.outcomes) and gc.isenabled()
    assert collection._young, "the next chunk collects its young generations unless it asks otherwise"


def test_a_seed_number_generates_the_same_cases_in_every_process() -> None:
    """Two processes with different string hashing generate the same cases for the same seed number
    (benchmark runs are comparable only so): the seeds' blank nodes are labelled canonically."""
    script = (
        "import hashlib\n"
        "from kb.batch.generate import generate, nquads_lines\n"
        "digest = hashlib.sha256()\n"
        "for name, graph in generate(120, seed=11):\n"
        "    digest.update(''.join(sorted(nquads_lines(name, graph))).encode())\n"
        "print(digest.hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 64


def _in_default_store(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def test_a_malformed_turtle_case_gets_the_single_request_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ip: <https://w3id.org/ipkg/ontology#> .\nip:a ip:b ip:c .\nthis is not turtle\n")
    [outcome] = decide_chunk(list(path_cases([bad])), _knowledge()).outcomes
    with pytest.raises(Exception) as reference:
        read_case_file(bad)
    assert outcome.outcome is None and outcome.error_kind == "malformed"
    assert outcome.error == str(reference.value)


def _knowledge() -> Knowledge:
    from kb.knowledge import load_knowledge

    return load_knowledge()


def test_a_literal_called_stable_reads_back_from_oxigraph_as_written() -> None:
    samples = [
        Literal(lexical, datatype=XSD[datatype])
        for datatype, forms in {
            "integer": ("5", "05", "+5", "-0", "0", "-12", "99999999999999999999999999"),
            "int": ("5",),
            "nonNegativeInteger": ("5",),
            "decimal": ("50", "50.0", "50.50", "50.5", ".5", "0.5", "-0.5", "-0"),
            "double": ("1e1", "10"),
            "boolean": ("true", "1", "false"),
            "date": ("2024-06-10", "2024-06-10Z"),
            "gYearMonth": ("2024-06",),
            "gYear": ("2024",),
            "string": ("x",),
        }.items()
        for lexical in forms
    ] + [Literal("x"), Literal("x", lang="en"), Literal("x", lang="EN")]
    store = ox.Store()
    graph = ox.NamedNode("urn:g")
    for number, literal in enumerate(samples):
        value = ox.Literal(str(literal), language=literal.language) if literal.language else None
        if value is None:
            value = ox.Literal(str(literal), datatype=ox.NamedNode(str(literal.datatype or XSD.string)))
        store.add(ox.Quad(ox.NamedNode(f"urn:s{number}"), ox.NamedNode("urn:p"), value, graph))
    stable = 0
    for number, literal in enumerate(samples):
        [quad] = list(store.quads_for_pattern(ox.NamedNode(f"urn:s{number}"), None, None, None))
        back = quad.object
        assert isinstance(back, ox.Literal)
        same = back.value == str(literal) and back.language == literal.language
        same = same and (literal.language is not None or back.datatype.value == str(literal.datatype or XSD.string))
        if stable_in_oxigraph(literal):
            stable += 1
            assert same, literal.n3()
    assert stable >= 12
    assert not stable_in_oxigraph(Literal("5", datatype=XSD.int))


def test_cases_with_partial_procedure_dates_are_decided_over_both_ends_of_the_interval(knowledge: Knowledge) -> None:
    paths = [
        REPO_ROOT / "tests" / "criteria" / name
        for name in (
            "CG300-R-INIT/met-last-injection-known-to-the-month.ttl",
            "CG300-R-INIT/not-documented-last-injection-month-straddles-2-weeks.ttl",
            "CG300-F-12MO/not-met-injection-known-to-the-month-inside-period.ttl",
            "CG300-F-12MO/not-documented-injection-month-straddles-period.ttl",
        )
    ]
    outcomes = decide_chunk(list(path_cases(paths)), knowledge).outcomes
    for path, outcome in zip(paths, outcomes, strict=True):
        det = determine_file(path, knowledge)
        assert (outcome.outcome, outcome.deciding) == (det.outcome, tuple(sorted(c.criterion.id for c in det.deciding))), path


# -- chunks, sources, sinks ------------------------------------------------------------------------


def test_a_chunk_decides_as_the_single_request_path_and_failures_do_not_stop_it(tmp_path: Path) -> None:
    paths = sorted(EXAMPLES.glob("*.ttl"))[:12] + sorted(EXAMPLES.glob("*.jsonld"))[:2]
    broken = tmp_path / "broken.jsonld"
    broken.write_text("{ not json")
    unknown = tmp_path / "unknown-code.ttl"
    unknown.write_text(EXAMPLES.joinpath("cg300-acute-approved.ttl").read_text().replace("CPT_64483", "CPT_99999"))
    inputs = list(path_cases([*paths[:5], broken, *paths[5:], unknown]))
    outcomes = decide_chunk(inputs, _knowledge()).outcomes
    assert [o.source for o in outcomes] == [i.source for i in inputs]
    failed = {o.source: o for o in outcomes if o.outcome is None}
    assert set(failed) == {str(broken), str(unknown)}
    assert failed[str(broken)].error_kind == "malformed"
    assert failed[str(unknown)].error_kind == "invalid" and "99999" in (failed[str(unknown)].error or "")
    for outcome in outcomes:
        if outcome.outcome is not None:
            det = determine_file(Path(outcome.source))
            assert outcome.outcome == det.outcome
            assert outcome.deciding == tuple(sorted(c.criterion.id for c in det.deciding))


def test_nquads_and_jsonl_streams(tmp_path: Path) -> None:
    generated = list(generate(3, seed=3))
    stream = tmp_path / "cases.nq"
    with stream.open("w", encoding="utf-8") as handle:
        for name, graph in generated:
            handle.writelines(nquads_lines(name, graph))
        handle.write("<urn:x> <urn:y> <urn:z> .\n")  # outside a named graph
    jsonl = tmp_path / "cases.jsonl"
    jsonld = EXAMPLES.joinpath(next(p.name for p in sorted(EXAMPLES.glob("*.jsonld"))))
    jsonl.write_text(json.dumps(json.loads(jsonld.read_text())) + "\nnot json\n")
    sink = CollectSink()
    summary = run_batch(path_cases([stream, jsonl]), [sink], chunk_size=3)
    by_source = {o.source: o for o in sink.outcomes}
    assert summary.cases == 6
    generated_failures = sum(1 for o in sink.outcomes if o.source.startswith("<urn:ipkg:case-source:") and o.outcome is None)
    assert summary.failed == 2 + generated_failures
    for name, graph in generated:
        copy = Graph()
        for triple in graph:
            copy.add(triple)
        outcome = by_source[f"<urn:ipkg:case-source:{name}>"]
        try:
            expected: str | None = determine_graph(copy, name).outcome
        except Exception:
            expected = None
        assert outcome.outcome == expected
    assert by_source[f"{jsonl}:1"].outcome == determine_file(jsonld).outcome
    assert by_source[f"{jsonl}:2"].error_kind == "malformed"
    assert any(o.error and "outside a named graph" in o.error for o in sink.outcomes)


def test_a_case_split_across_an_nquads_stream_is_refused(tmp_path: Path) -> None:
    stream = tmp_path / "split.nq"
    stream.write_text(
        "<urn:a> <urn:p> <urn:b> <urn:g1> .\n<urn:c> <urn:p> <urn:d> <urn:g2> .\n<urn:e> <urn:p> <urn:f> <urn:g1> .\n"
    )
    inputs = list(nquads_cases(stream))
    assert [i.source for i in inputs] == ["<urn:g1>", "<urn:g2>", "<urn:g1>"]
    assert inputs[2].fmt == "failed" and "not contiguous" in str(inputs[2].data)


def test_dask_local_cluster_of_two_workers_gives_the_in_process_results() -> None:
    paths = sorted(EXAMPLES.glob("*.ttl"))[::20]
    local, dask = CollectSink(), CollectSink()
    run_batch(path_cases(paths), [local], chunk_size=2, workers=0)
    summary = run_batch(path_cases(paths), [dask], chunk_size=2, workers=2)
    assert summary.cases == len(paths)
    assert sorted((o.source, o.outcome, o.deciding) for o in dask.outcomes) == sorted(
        (o.source, o.outcome, o.deciding) for o in local.outcomes
    )


def test_a_worker_of_our_cluster_loads_the_knowledge_and_freezes_it_before_its_first_chunk() -> None:
    """prepare_worker (run on each worker of the LocalCluster run_batch starts) leaves the knowledge
    loaded and out of later collections; in a process of its own, as a worker is."""
    script = (
        "import gc\n"
        "from kb.batch.runner import KnowledgeVersion, knowledge_for, prepare_worker\n"
        "before = gc.get_freeze_count()\n"
        "prepare_worker(KnowledgeVersion())\n"
        "print(before, gc.get_freeze_count(), knowledge_for.cache_info().currsize)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    before, frozen, loaded = map(int, done.stdout.split())
    assert before == 0 and frozen > 100_000 and loaded == 1


def test_ipkg_batch_writes_json_lines_and_nquads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    for path in sorted(EXAMPLES.glob("cg30*-approved.ttl"))[:3]:
        shutil.copy(path, cases / path.name)
    (cases / "broken.ttl").write_text("not turtle at all")
    out, nq = tmp_path / "out.jsonl", tmp_path / "out.nq"
    code = main(["batch", str(cases), "--workers", "0", "--jsonl", str(out), "--nquads", str(nq), "--reports"])
    assert code == 3
    summary = json.loads(capsys.readouterr().out)
    assert summary["cases"] == 4 and summary["failed"] == 1 and summary["outcomes"] == {"approved": 3}
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["case"] for line in lines} == {str(p) for p in cases.iterdir()}
    assert any(line.get("error") == "malformed" for line in lines)
    quads = ox.parse(nq.read_bytes(), ox.RdfFormat.N_QUADS)
    graphs = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
    assert len(graphs) == 6  # three determinations and their reports


# -- replay ------------------------------------------------------------------------------------------


def _candidate_with_pain_threshold_4(root: Path) -> Path:
    candidate = root / "candidate"
    shutil.copytree(REPO_ROOT / "ontology", candidate / "ontology")
    shutil.copytree(REPO_ROOT / "shapes", candidate / "shapes")
    shapes = candidate / "shapes" / "nia-cg-300.ttl"
    text = shapes.read_text(encoding="utf-8")
    unmet = text.index("ips:CG300-PAIN-unmet a")
    changed = text[:unmet] + text[unmet:].replace("FILTER (?value < 6)", "FILTER (?value < 4)", 1)
    documented = changed.index("ips:CG300-PAIN-undocumented a")
    changed = changed[:documented] + changed[documented:].replace("FILTER (?s >= 6)", "FILTER (?s >= 4)", 1).replace(
        "FILTER (?low < 6)", "FILTER (?low < 4)", 1
    )
    assert changed != text
    shapes.write_text(changed, encoding="utf-8")
    return candidate


def test_replay_reports_the_determinations_a_changed_shape_changes(tmp_path: Path) -> None:
    candidate = version_from_directory(_candidate_with_pain_threshold_4(tmp_path))
    score_4 = REPO_ROOT / "tests" / "criteria" / "CG300-PAIN" / "not-met-score-4.ttl"
    score_7 = REPO_ROOT / "tests" / "criteria" / "CG300-PAIN" / "met-score-7.ttl"
    result = replay(path_cases([score_4, score_7]), KnowledgeVersion(), candidate)
    assert result.cases == 2
    [change] = result.changes
    assert change.source == str(score_4)
    # denied for the pain level under this version; approved with CG300-PAIN met under the candidate
    assert (change.before, change.deciding_before) == ("denied", ("CG300-PAIN",))
    assert change.before == determine_file(score_4).outcome
    assert change.after == "approved" and "CG300-PAIN" in change.deciding_after
    assert "CG300-PAIN" in result.table()
    rdf = result.rdf("this version", "candidate")
    rows = list(
        rdf.query(
            """PREFIX rp: <https://w3id.org/ipkg/replay#>
            SELECT ?case ?from ?to WHERE { ?c a rp:DeterminationChange ; rp:case ?case ; rp:fromOutcome ?from ;
              rp:toOutcome ?to ; rp:decidingBefore <https://w3id.org/ipkg/ontology#CG300-PAIN> .
              FILTER (?to = "approved") }"""
        )
    )
    assert [(str(r[0]), str(r[1]), str(r[2])) for r in rows] == [(str(score_4), change.before, change.after)]  # type: ignore[index]


def test_ipkg_replay_against_a_git_revision_of_this_version_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [str(p) for p in sorted(EXAMPLES.glob("cg300-acute-*.ttl"))]
    code = main(["replay", *paths, "--candidate-rev", "HEAD", "--workers", "0", "--rdf", str(tmp_path / "changes.ttl")])
    assert code == 0
    assert f"0 of {len(paths)} determinations change." in capsys.readouterr().out
    assert (tmp_path / "changes.ttl").exists()


def test_ipkg_replay_refuses_an_unknown_revision(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", str(EXAMPLES / "cg300-acute-approved.ttl"), "--candidate-rev", "no-such-revision-x", "--workers", "0"])
    assert code == 2
    assert "no-such-revision-x" in capsys.readouterr().err


def test_ipkg_batch_stores_determinations_and_reads_stored_cases_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(EXAMPLES / "cg300-acute-approved.ttl"), str(EXAMPLES / "cg300-acute-denied.ttl")]
    store = tmp_path / "store"
    assert main(["batch", *paths, "--workers", "0", "--to-store", str(store), "--no-progress"]) == 0
    capsys.readouterr()
    out = tmp_path / "again.jsonl"
    assert main(["batch", "--store-path", str(store), "--workers", "0", "--jsonl", str(out), "--no-progress"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["outcome"] for line in lines) == ["approved", "denied"]
    assert all(line["case"].startswith("https://w3id.org/ipkg/graph/case/") for line in lines)
    dataset = ox.Store.read_only(str(store))
    names = {g.value for g in dataset.named_graphs() if isinstance(g, ox.NamedNode)}
    assert sum(1 for n in names if "/determination/" in n or "/report/" in n or "/derived/" in n) >= 6
