"""docs/case-guide.md: generated from the ontology and shapes, complete, and its worked examples decide
as recorded in examples/expected/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pyparsing import ParseResults
from rdflib import RDF, Literal, URIRef
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from kb import cli
from kb.casedocs import COMPUTED, CaseGuide, escape, sparql_terms
from kb.engine import determine_graph
from kb.errors import CaseFormError
from kb.knowledge import load_knowledge
from kb.namespaces import IP, SH
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import TURTLE, parse_case

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "case-guide.md"
EXAMPLES = ROOT / "examples"
EXAMPLE_BLOCK = re.compile(r"<!-- expect-outcome: (\w+) -->\n```turtle\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def guide() -> CaseGuide:
    return CaseGuide(load_knowledge(), EXAMPLES)


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text(encoding="utf-8")


def _sections(text: str) -> dict[str, str]:
    """The text of each guideline's section, by guideline number."""
    parts = re.split(r"^## (NIA_CG_\d+): .*$", text, flags=re.M)
    sections = {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    last = parts[-1].split("## Vocabulary across guidelines")[0]
    sections[parts[-2]] = last
    return sections


def test_case_guide_is_current(guide: CaseGuide, text: str) -> None:
    assert guide.markdown() == text, "docs/case-guide.md is out of date: run ipkg case-guide > docs/case-guide.md"


def test_cli_prints_the_guide(capsys: pytest.CaptureFixture[str], text: str) -> None:
    assert cli.main(["case-guide", "--examples", str(EXAMPLES)]) == cli.EXIT_OK
    assert capsys.readouterr().out == text


def test_every_guideline_pathway_and_criterion_appears(guide: CaseGuide, text: str) -> None:
    knowledge = guide.kb
    sections = _sections(text)
    modeled = [g for g in knowledge.guidelines.values() if knowledge.is_modeled(g.iri)]
    assert len(modeled) >= 8
    assert set(sections) == {g.number for g in modeled}
    for g in modeled:
        section = sections[g.number]
        for pathway in knowledge.pathways.get(g.iri, []):
            assert f"**`ip:{pathway.iri.split('#')[-1]}`**" in section, (g.number, pathway.iri)
            for criterion in pathway.criteria:
                assert f"#### {knowledge.criteria[criterion].id}:" in section, (g.number, criterion)
        contexts = {c.iri for c in knowledge.contexts if c.guideline == g.iri}
        for info in knowledge.criteria.values():
            if info.target_classes & contexts:
                assert f"#### {info.id}:" in section, (g.number, info.id)
                assert f"> {escape(info.text)}\n" in section, (g.number, info.id)
        for cpt in knowledge.cpt_by_iri.values():
            if g.iri in cpt.guidelines:
                assert f"| `ip:CPT_{cpt.code}` |" in section, (g.number, cpt.code)
    for info in knowledge.criteria.values():
        assert f"#### {info.id}:" in text, info.id


def _parsed_iris(node: object, prefixes: dict[str, str], out: set[URIRef]) -> None:
    """Every IRI of an rdflib SPARQL parse tree (the algebra would leave out nested FILTER EXISTS patterns)."""
    if isinstance(node, CompValue):
        if node.name == "pname":
            prefix, local = node.get("prefix"), node.get("localname")
            if isinstance(prefix, str) and prefix in prefixes:
                out.add(URIRef(prefixes[prefix] + (local or "")))
            return
        for value in node.values():
            _parsed_iris(value, prefixes, out)
    elif isinstance(node, URIRef):
        out.add(node)
    elif isinstance(node, ParseResults | list | tuple):
        for value in node:
            _parsed_iris(value, prefixes, out)


def test_the_tokenizer_finds_what_the_sparql_parser_finds(guide: CaseGuide) -> None:
    """In every constraint of the shapes, the terms read are exactly the IRIs of rdflib's parse tree, and
    each of them is an ontology term."""
    knowledge = guide.kb
    prefixes = {"ip": str(IP), "xsd": "http://www.w3.org/2001/XMLSchema#", "rdf": str(RDF)}
    checked = 0
    for shape, criterion in knowledge.shapes.subject_objects(IP.criterion):
        for constraint in knowledge.shapes.objects(shape, SH.sparql):
            for text in knowledge.shapes.objects(constraint, SH.select):
                parsed: set[URIRef] = set()
                _parsed_iris(parseQuery(str(text)), prefixes, parsed)
                # The keyword `a` parses to rdf:type; the tokenizer reads the names that follow it.
                assert sparql_terms(str(text), prefixes) == parsed - {RDF.type}, constraint
                checked += 1
        for term in guide.reads.get(criterion, frozenset()):
            assert (term, None, None) in knowledge.ontology, (criterion, term)
    assert checked >= 200


def test_strings_and_comments_are_not_reads() -> None:
    text = """SELECT $this WHERE { $this ip:a ?v . # ip:commented
        BIND ("see ip:InString" AS ?m) BIND (\'\'\'ip:Triple "quoted" \'\'\' AS ?n) }"""
    assert sparql_terms(text, {"ip": str(IP)}) == {IP.a}


def test_derived_properties_are_named_as_computed(guide: CaseGuide) -> None:
    for reads in guide.reads.values():
        for term in reads:
            assert (guide.term(term).kind == COMPUTED) == (term in guide.derived), term


def test_paths_nested_patterns_and_full_iris_are_read() -> None:
    full = f"<{IP}dateOfService>"
    text = (
        "SELECT $this WHERE { $this ip:forPatient/ip:hasCondition/^ip:x* ?c ; " + full + " ?d . ?c (ip:a|ip:b)+ ?e . "
        "FILTER NOT EXISTS { ?c ip:f ?g . FILTER NOT EXISTS { ?g ip:h ip:V . } } }"
    )
    found = sparql_terms(text, {"ip": str(IP)})
    assert found == {IP.forPatient, IP.hasCondition, IP.x, IP.dateOfService, IP.a, IP.b, IP.f, IP.h, IP.V}


def test_worked_examples_decide_as_recorded(guide: CaseGuide, text: str) -> None:
    sections = _sections(text)
    for g in guide.kb.guidelines.values():
        if not guide.kb.is_modeled(g.iri):
            continue
        blocks = EXAMPLE_BLOCK.findall(sections[g.number])
        assert len(blocks) == 1, g.number
        outcome, body = blocks[0]
        name = re.search(r"`examples/cases/([\w.-]+)`", sections[g.number])
        assert name is not None
        expected = json.loads((EXAMPLES / "expected" / f"{g.number.lower().replace('_', '-')}.json").read_text(encoding="utf-8"))[
            name.group(1)
        ]
        assert body == (EXAMPLES / "cases" / name.group(1)).read_text(encoding="utf-8").rstrip("\n") + "\n"
        det = determine_graph(parse_case(body, TURTLE, name.group(1)), name.group(1))
        assert det.outcome == outcome == expected["outcome"]
        assert sorted(r.criterion.id for r in det.deciding) == sorted(expected["decidingCriteria"])
        assert det.guideline == g.iri


def test_the_docs_test_runs_the_worked_examples() -> None:
    from tests.test_docs import BLOCKS

    ours = [b for b in BLOCKS if b.doc == DOC and b.lang == "turtle" and b.marker("expect-outcome")]
    assert len(ours) == len(re.findall("<!-- expect-outcome:", DOC.read_text(encoding="utf-8"))) >= 8


def test_case_format_and_readme_link_the_guide() -> None:
    assert "case-guide.md" in (ROOT / "docs" / "case-format.md").read_text(encoding="utf-8")
    assert "docs/case-guide.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_what_the_guide_names_as_computed_is_refused_in_case_data(guide: CaseGuide) -> None:
    """The guide tells users never to state a computed property: the form check refuses every one."""
    computed = sorted({t for reads in guide.reads.values() for t in reads if guide.term(t).kind == COMPUTED})
    assert computed
    case = parse_case((EXAMPLES / "cases" / "cg300-acute-approved.ttl").read_text(encoding="utf-8"), TURTLE, "case")
    request = next(case.subjects(RDF.type, IP.PriorAuthorizationRequest))
    for prop in computed:
        case.add((request, prop, Literal(1)))
    with pytest.raises(CaseFormError) as refused:
        check_case_form(case, guide.kb, "case")
    problems = str(refused.value).splitlines()
    for prop in computed:
        name = f"ip:{prop.split('#')[-1]}"
        assert any(
            name in line and ("computed by the engine" in line or "written by the engine" in line) for line in problems
        ), prop


def _slugs(markdown: str) -> set[str]:
    """The anchors of a Markdown file: explicit <a id> and GitHub's heading slugs."""
    ids = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.M):
        ids.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return ids


def test_links_of_the_guide_resolve(text: str) -> None:
    own = _slugs(text)
    links = re.findall(r"\]\(([\w.-]*)#([\w-]+)\)", text)
    assert links
    for target, fragment in links:
        anchors = own if not target else _slugs((ROOT / "docs" / target).read_text(encoding="utf-8"))
        assert fragment in anchors, f"{target}#{fragment}"
