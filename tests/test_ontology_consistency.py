"""Ontology consistency: the OWL RL closure of the ontology has no inconsistency."""

from __future__ import annotations

from pathlib import Path

import owlrl
import pyshacl
from rdflib import OWL, RDF, Graph, URIRef
from rdflib.namespace import Namespace

from kb.knowledge import Knowledge

ERR = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")


def owlrl_problems(graph: Graph) -> list[str]:
    closed = Graph()
    for triple in graph:
        closed.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closed)
    problems = [str(m) for m in closed.objects(None, ERR.error)]
    problems += [f"{s} is a member of owl:Nothing" for s in closed.subjects(RDF.type, OWL.Nothing)]
    for a, b in closed.subject_objects(OWL.disjointWith):
        for member in set(closed.subjects(RDF.type, a)) & set(closed.subjects(RDF.type, b)):
            problems.append(f"{member} is in disjoint classes {a} and {b}")
    return problems


def test_ontology_closure_is_consistent(knowledge: Knowledge) -> None:
    assert owlrl_problems(knowledge.ontology) == []


def test_an_inconsistency_is_detected(knowledge: Knowledge) -> None:
    broken = knowledge.ontology + Graph()
    ip = Namespace("https://w3id.org/ipkg/ontology#")
    broken.add((URIRef("https://example.org/odd"), RDF.type, ip.ActiveModality))
    broken.add((URIRef("https://example.org/odd"), RDF.type, ip.InactiveModality))
    assert owlrl_problems(broken) != []


def test_shapes_conform_to_shacl_shacl(knowledge: Knowledge) -> None:
    """The criterion and case-form shapes graphs conform to the W3C SHACL-for-SHACL shapes."""
    shsh = Graph().parse(Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl", format="turtle")
    for shapes in (knowledge.shapes, knowledge.form_shapes):
        conforms, _, text = pyshacl.validate(shapes, shacl_graph=shsh, inference="none")
        assert conforms, text


def test_shacl_shacl_detects_a_broken_shape(knowledge: Knowledge) -> None:
    shsh = Graph().parse(Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl", format="turtle")
    broken = knowledge.shapes + Graph()
    broken.update(
        """PREFIX ips: <https://w3id.org/ipkg/shapes#>
           PREFIX sh: <http://www.w3.org/ns/shacl#>
           INSERT DATA { ips:CG300-PAIN sh:severity "high" ; sh:minCount "x" }"""
    )
    conforms, _, _ = pyshacl.validate(broken, shacl_graph=shsh, inference="none")
    assert not conforms
