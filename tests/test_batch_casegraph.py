"""kb.batch.casegraph: a parsed case's triples converted to Oxigraph once, and only while nothing was removed."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import XSD, BNode, Literal, URIRef

from kb.batch import casegraph
from kb.batch.casegraph import CaseGraph, OxigraphTriples, oxigraph_triples
from kb.batch.generate import generate, nquads_lines
from kb.batch.parsing import parse_input
from kb.batch.sources import nquads_cases
from kb.namespaces import IP, RDF


def _as_set(view: OxigraphTriples) -> set[tuple[str, str, str]]:
    """The triples with blank nodes written as their rdflib labels (comparable across conversions)."""

    def text(term: object) -> str:
        if isinstance(term, ox.BlankNode):
            return "_:" + str(view.blanks[term.value])
        return str(term)

    return {(text(q.subject), text(q.predicate), text(q.object)) for q in view.quads}


@pytest.fixture
def parsed(tmp_path: Path) -> CaseGraph:
    stream = tmp_path / "cases.nq"
    stream.write_text("".join(line for name, graph in generate(1, seed=3) for line in nquads_lines(name, graph)))
    [item] = list(nquads_cases(stream))
    graph = parse_input(item)
    assert isinstance(graph, CaseGraph)
    return graph


def test_a_parsed_case_is_converted_once_and_later_additions_alone_after(
    parsed: CaseGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    converted: list[int] = []
    extend = OxigraphTriples.extend

    def counted(self: OxigraphTriples, triples: list[tuple[object, object, object]], **kwargs: bool) -> None:
        triples = list(triples)
        converted.append(len(triples))
        extend(self, triples, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(OxigraphTriples, "extend", counted)
    first = oxigraph_triples(parsed)
    assert first is not None and converted == [len(parsed)]
    request = next(parsed.subjects(RDF.type, IP.PriorAuthorizationRequest))
    parsed.add((request, IP.episodeProcedureCount, Literal(2, datatype=XSD.integer)))
    parsed.add((request, IP.newEpisodeStartedBy, BNode()))
    second = oxigraph_triples(parsed)
    assert second is first and converted == [len(parsed) - 2, 2]
    fresh = OxigraphTriples()
    extend(fresh, parsed)
    assert _as_set(second) == _as_set(fresh) and len(second.quads) == len(parsed)
    assert oxigraph_triples(parsed) is second and converted == [len(parsed) - 2, 2]  # nothing new: nothing converted


def test_a_removal_ends_the_record_and_the_case_is_converted_as_it_stands(parsed: CaseGraph) -> None:
    before = oxigraph_triples(parsed)
    assert before is not None
    removed = next(iter(parsed))
    parsed.remove(removed)
    after = oxigraph_triples(parsed)
    assert after is not None and after is not before
    assert len(after.quads) == len(parsed) == len(before.quads) - 1
    assert _as_set(after) < _as_set(before) and len(_as_set(before) - _as_set(after)) == 1


def test_a_literal_the_store_would_rewrite_sends_the_case_to_pyshacl_even_when_added_later(parsed: CaseGraph) -> None:
    assert oxigraph_triples(parsed) is not None
    # rdflib keeps "50.0"; an Oxigraph store would read it back as "50" (kb.batch.literals)
    parsed.add((URIRef("https://w3id.org/ipkg/case/x"), IP.reliefPercent, Literal("50.0", datatype=XSD.decimal)))
    assert oxigraph_triples(parsed) is None
    assert oxigraph_triples(parsed) is None


def test_own_node_candidates_leave_out_the_shared_vocabularies(parsed: CaseGraph) -> None:
    view = oxigraph_triples(parsed)
    assert view is not None and view.iris
    assert not any(str(iri).startswith(casegraph.SHARED_NAMESPACES) for iri in view.iris)
    assert any(str(iri).startswith("https://w3id.org/ipkg/case/") for iri in view.iris)
