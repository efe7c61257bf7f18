"""Hostile and malformed case input is refused with the project's errors, never crashes or reaches out.

Each test reproduces one way a case once got past the checks: a JSON-LD context that made the
parser fetch a URL or open a file, deep nesting, huge lists, ill-typed literals, dates that break
calendar arithmetic, lone surrogates, and a case that forged a determination.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.engine import determine_text
from kb.errors import CaseFormError, CaseSyntaxError
from kb.pipeline.caseio import JSONLD, TURTLE, CaseLimits, parse_case
from kb.pipeline.caselimits import json_nesting, turtle_nesting
from tests.service.listener import Listener

ROOT = Path(__file__).resolve().parent.parent
TTL = (ROOT / "examples" / "cases" / "cg300-acute-approved.ttl").read_text(encoding="utf-8")
JSONLD_CASE = (ROOT / "examples" / "cases" / "cg300-stenosis-approved.jsonld").read_text(encoding="utf-8")
PROJECT_CONTEXT = "https://w3id.org/ipkg/context.jsonld"


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def form_problems(text: str, fmt: str = TURTLE) -> list[str]:
    with pytest.raises(CaseFormError) as info:
        determine_text(text, fmt, "case")
    return info.value.problems


# -- 1. JSON-LD contexts: only the embedded one, at every level --------------------------------


@pytest.fixture()
def listener() -> Iterator[Listener]:
    with Listener() as srv:
        yield srv


def _contexts(url: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Ways a context IRI can hide in a case: (the document's @context, extra members of the request)."""
    return {
        "top level": (url, {}),
        "in a list": ([PROJECT_CONTEXT, url], {}),
        "inline object holding its own @context": ([PROJECT_CONTEXT, {"@context": url}], {}),
        "@import": ([PROJECT_CONTEXT, {"@import": url}], {}),
        "scoped context of a property": (
            [PROJECT_CONTEXT, {"note": {"@id": "https://example.org/note", "@context": url}}],
            {"note": {"id": "case:note-1"}},
        ),
        "scoped context of a type": (
            [PROJECT_CONTEXT, {"Hostile": {"@id": "https://example.org/Hostile", "@context": url}}],
            {"type": ["PriorAuthorizationRequest", "Hostile"]},
        ),
        "context of a nested node": (PROJECT_CONTEXT, {"forPatient": {"@context": url, "id": "case:j1-patient"}}),
    }


def _document(context: Any, extra: dict[str, Any]) -> str:
    document: dict[str, Any] = {
        "@context": context,
        "id": "case:j1",
        "type": "PriorAuthorizationRequest",
        "cptCode": "CPT_64483",
        "dateOfService": "2024-06-10",
        "spinalRegion": "Lumbar",
        "forPatient": {"id": "case:j1-patient", "type": "Patient"},
    }
    document.update(extra)
    return json.dumps(document)


@pytest.mark.parametrize("where", list(_contexts("x")))
def test_no_context_is_fetched_from_the_network(where: str, listener: Listener) -> None:
    context, extra = _contexts(f"{listener.url}/context.jsonld")[where]
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(_document(context, extra), JSONLD, "case.jsonld")
    assert listener.connections == 0
    assert f"{listener.url}/context.jsonld" in str(info.value) or "invalid JSON-LD" in str(info.value)


@pytest.mark.parametrize("where", list(_contexts("x")))
def test_no_context_is_read_from_a_file(where: str, tmp_path: Path) -> None:
    """A context file on disk is neither used nor revealed: the error is the same whether it exists."""
    present = tmp_path / "present.jsonld"
    # A usable context: if it were read, "note" and "Hostile" would expand and the case would parse.
    present.write_text(json.dumps({"@context": {"@vocab": "https://example.org/"}}), encoding="utf-8")
    absent = tmp_path / "absent.jsonld"
    messages = []
    for path in (present, absent):
        context, extra = _contexts(path.as_uri())[where]
        with pytest.raises(CaseSyntaxError) as info:
            parse_case(_document(context, extra), JSONLD, "case.jsonld")
        messages.append(str(info.value).replace(path.as_uri(), "<url>"))
    assert messages[0] == messages[1]
    assert "example.org" not in messages[0]


def test_etc_passwd_is_not_opened() -> None:
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(_document([PROJECT_CONTEXT, {"@context": "file:///etc/passwd"}], {}), JSONLD, "case.jsonld")
    assert "root:" not in str(info.value)
    assert "No such file" not in str(info.value) and "Errno" not in str(info.value)


def test_relative_iris_resolve_in_the_case_namespace_not_the_working_directory() -> None:
    graph = parse_case("<p1> <https://example.org/p> <p2> .", TURTLE, "case.ttl")
    assert {str(term) for triple in graph for term in triple} == {
        "https://w3id.org/ipkg/case/p1",
        "https://example.org/p",
        "https://w3id.org/ipkg/case/p2",
    }


@pytest.mark.parametrize("document", ['"https://w3id.org/ipkg/context.jsonld"', '"AAA"', "1", "null", "true"])
def test_a_json_scalar_is_not_a_case_nor_an_iri_to_load(document: str) -> None:
    """A JSON-LD processor reads a string document as the IRI of a document to load."""
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(document, JSONLD, "case.jsonld")
    assert "a JSON-LD case is a JSON object or array" in str(info.value)


@pytest.mark.parametrize("name", ["cg300-stenosis-approved", "cg300-repeat-initial-approved"])
def test_the_jsonld_examples_are_decided_through_the_loader(name: str) -> None:
    data = (ROOT / "examples" / "cases" / f"{name}.jsonld").read_bytes()
    assert determine_text(data, JSONLD, name).outcome == "approved"


# -- 2. Limits, checked before the expensive parse --------------------------------------------


@pytest.mark.parametrize("brackets", [("[ ex:c ", "]"), ("( ", ")")])
def test_deep_turtle_nesting_is_refused(brackets: tuple[str, str]) -> None:
    opening, closing = brackets
    text = "@prefix ex: <https://example.org/> . ex:a ex:b " + opening * 1000 + closing * 1000 + " ."
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(text, TURTLE, "deep.ttl")
    assert "nest 1000 deep; the limit is 32" in str(info.value)


@pytest.mark.parametrize("document", ["[" * 500 + "]" * 500, '{"a":' * 500 + "1" + "}" * 500])
def test_deep_json_nesting_is_refused(document: str) -> None:
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(document, JSONLD, "deep.jsonld")
    assert "nest 500 deep" in str(info.value)


def test_the_nesting_scan_ignores_brackets_in_strings_iris_and_comments() -> None:
    text = (
        '<http://e/[[[> <http://e/p> "((( [[[" , """ ]]] ((( """ . # [[[[[[\n'
        "<http://e/s> <http://e/p> [ <http://e/q> ( 1 ) ] ."
    )
    assert turtle_nesting(text) == 2
    assert json_nesting('{"a": "[[[[{{{{", "b": [[1]]}') == 3


def test_a_huge_list_is_refused_before_parsing() -> None:
    text = "@prefix ex: <https://example.org/> . ex:a ex:b (" + " 1" * 100_000 + " ) ."
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(text, TURTLE, "list.ttl")
    assert "the case holds 100005 terms; at most 40000 are accepted" in str(info.value)


def test_the_parser_stops_at_the_triple_limit() -> None:
    text = "<https://example.org/a> <https://example.org/b> " + ", ".join(str(i) for i in range(15_000)) + " ."
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(text, TURTLE, "many.ttl")
    assert "more than 10000 triples" in str(info.value)


def test_a_long_list_under_the_triple_limit_is_refused() -> None:
    text = "@prefix ex: <https://example.org/> . ex:a ex:b (" + " 1" * 2_000 + " ) ."
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(text, TURTLE, "list.ttl")
    assert "more than 1000 items" in str(info.value)
    document = {"@id": "https://example.org/a", "https://example.org/b": {"@list": list(range(2_000))}}
    with pytest.raises(CaseSyntaxError):
        parse_case(json.dumps(document), JSONLD, "list.jsonld")


def test_limits_are_configurable() -> None:
    small = CaseLimits(max_bytes=10_000, max_depth=2, max_triples=5, max_list_length=2)
    with pytest.raises(CaseSyntaxError, match="nest 3 deep; the limit is 2"):
        parse_case("<a> <b> [ <c> [ <d> [ <e> 1 ] ] ] .", TURTLE, limits=small)
    with pytest.raises(CaseSyntaxError, match="more than 5 triples"):
        parse_case("".join(f"<a> <b> {i} .\n" for i in range(6)), TURTLE, limits=small)
    assert len(parse_case("".join(f"<a> <b> {i} .\n" for i in range(5)), TURTLE, limits=small)) == 5


# -- 3. Literals, dates and text that used to raise inside the engine --------------------------


def test_an_empty_date_is_refused_naming_the_property() -> None:
    problems = form_problems(replaced(TTL, 'ip:endDate "2024-05-20"^^xsd:date', 'ip:endDate ""^^xsd:date'))
    assert any("ip:endDate: '' is not a valid xsd:date" in p for p in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("ip:painScore 7", 'ip:painScore "seven"^^xsd:integer', "ip:painScore: 'seven' is not a valid xsd:integer"),
        ('"2024-06-10"^^xsd:date', '"2024-02-30"^^xsd:date', "'2024-02-30' is not a valid xsd:date"),
        ('"2024-06-10"^^xsd:date', '"10000-01-01"^^xsd:date', "'10000-01-01' is not a valid xsd:date"),
    ],
)
def test_ill_typed_literals_are_refused(old: str, new: str, expected: str) -> None:
    problems = form_problems(replaced(TTL, old, new))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("day", ["9999-12-31", "1899-12-31", "2101-01-01"])
def test_dates_outside_the_accepted_years_are_refused(day: str) -> None:
    problems = form_problems(replaced(TTL, '"2024-06-10"^^xsd:date', f'"{day}"^^xsd:date'))
    assert any(f"ip:dateOfService: the date {day} is outside the years 1900-2100" in p for p in problems), problems


def test_a_node_where_a_value_is_needed_is_refused() -> None:
    problems = form_problems(replaced(JSONLD_CASE, '"endDate": "2024-04-12"', '"endDate": {}'), JSONLD)
    assert any("ip:endDate: must be a value" in p and "not a node (a blank node)" in p for p in problems), problems


def test_a_value_where_a_node_is_needed_is_refused() -> None:
    problems = form_problems(replaced(TTL, "ip:spinalRegion ip:Lumbar", 'ip:spinalRegion "Lumbar"'))
    assert any("ip:spinalRegion: must refer to a node" in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (replaced(TTL, "ip:painScore 7 ;", 'ip:painScore 7 ; <https://example.org/n> "a\\uD800b" ;'), TURTLE),
        (replaced(JSONLD_CASE, '"endDate": "2024-04-12"', '"endDate": "2024-04-12\\ud800"'), JSONLD),
        (TTL.replace("approved", "approved\ud800", 1), TURTLE),
        ('{"@context": {"@import": "\\ud800"}}', JSONLD),
        ('{"@context": {"\\udfff": "https://example.org/"}}', JSONLD),
    ],
)
def test_lone_surrogates_are_refused(text: str, fmt: str) -> None:
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(text, fmt, "case")
    assert "lone surrogate" in str(info.value)


def test_a_cycle_of_blank_nodes_is_described_without_recursing_forever() -> None:
    cycle = replaced(
        TTL, "ip:painScore 7 ;", 'ip:painScore 7 ; ip:endDate [ ip:endDate [ ip:endDate _:loop ] ] ;'
    ) + "\n_:loop ip:endDate _:loop .\n"
    assert any("ip:endDate: must be a value" in p for p in form_problems(cycle))


# -- 4. A case cannot say what only the engine says ---------------------------------------------

FORGED = """
case:forged a ip:Determination ; ip:outcome ip:Approved ; ip:determinedAt "2099-01-01T00:00:00"^^xsd:dateTime ;
    ip:hasCriterionResult [ a ip:CriterionResult ; ip:status ip:Met ] .
"""


def test_a_case_cannot_forge_a_determination() -> None:
    problems = form_problems(TTL + FORGED)
    assert any("https://w3id.org/ipkg/case/forged is typed ip:Determination" in p for p in problems), problems
    assert any("ip:outcome: determination vocabulary is written by the engine" in p for p in problems), problems
    assert any("is typed ip:CriterionResult" in p for p in problems), problems


def test_a_case_cannot_use_determination_iris_or_report_vocabulary() -> None:
    det = TTL + '\n<https://w3id.org/ipkg/determination/abc> <http://www.w3.org/2000/01/rdf-schema#label> "x" .\n'
    assert any("is a determination IRI" in p for p in form_problems(det))
    report = TTL + "\ncase:r a <http://www.w3.org/ns/shacl#ValidationReport> .\n"
    assert any("SHACL terms" in p for p in form_problems(report))


def test_the_refused_vocabulary_comes_from_the_ontology() -> None:
    """Every class and property of the determination record is marked in ontology/determination.ttl."""
    from rdflib import Literal

    from kb.knowledge import load_knowledge
    from kb.namespaces import IP

    marked = set(load_knowledge().ontology.subjects(IP.recordedByEngine, Literal(True)))
    assert {IP.Determination, IP.CriterionResult, IP.outcome, IP.determinedAt, IP.machineForm} <= marked
    assert IP.dateOfService not in marked


def test_a_property_of_determinations_is_refused_even_unmarked() -> None:
    """ip:coversCode has the domain ip:Determination: that alone makes it engine vocabulary."""
    problems = form_problems(TTL + "\ncase:acute-approved ip:coversCode ip:CPT_64483 .\n")
    assert any("ip:coversCode: determination vocabulary is written by the engine" in p for p in problems), problems


def test_only_determination_graphs_are_listed_as_determinations(tmp_path: Path) -> None:
    """Even a case graph that got a determination past the checks is never listed or counted."""
    from rdflib import Graph

    from kb.knowledge import load_knowledge
    from kb.pipeline.caseio import read_case_file
    from kb.repository import DeterminationFilter, Repository
    from kb.store.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "store")
    try:
        repository = Repository(store, load_knowledge())
        repository.load_knowledge_graphs()
        stored, _ = repository.determine_and_save(read_case_file(ROOT / "examples" / "cases" / "cg300-acute-approved.ttl"), "x")
        header = (
            "@prefix ip: <https://w3id.org/ipkg/ontology#> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
            "@prefix case: <https://w3id.org/ipkg/case/> .\n"
        )
        forged = Graph().parse(data=header + FORGED.replace(
            "ip:outcome ip:Approved ;",
            'ip:outcome ip:Approved ; ip:underGuideline ip:NIA_CG_300 ; ip:requestedCode "64483" ;'
            ' ip:serviceDate "2024-06-10"^^xsd:date ;',
        ), format="turtle", publicID="https://w3id.org/ipkg/case/")
        repository.save_case(forged)  # written directly, as no request could
        total, items = repository.list_determinations(DeterminationFilter(), 10, 0, 10.0)
        assert total == 1 and [item["id"] for item in items] == [stored.id]
    finally:
        store.close()
