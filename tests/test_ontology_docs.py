"""The ontology's HTML documentation (docs/ontology/index.html, served at /ontology) is current and complete."""

from __future__ import annotations

import re

from markupsafe import escape
from rdflib import RDFS, SKOS, URIRef

from kb import ontology_docs
from kb.knowledge import Knowledge
from kb.namespaces import IP

PAGE = ontology_docs.output_file()


def test_documentation_is_current(knowledge: Knowledge) -> None:
    assert PAGE.read_text(encoding="utf-8") == ontology_docs.render_html(knowledge), (
        "docs/ontology/index.html is out of date: run ipkg ontology-docs"
    )


def test_every_term_has_its_anchor_label_and_definition(knowledge: Knowledge) -> None:
    page = PAGE.read_text(encoding="utf-8")
    blocks = dict(re.findall(r'<div class="entity term" id="([^"]+)">(.*?)</table>', page, re.S))
    terms = {s for s in knowledge.ontology.subjects(RDFS.label, None) if isinstance(s, URIRef) and str(s).startswith(str(IP))}
    assert len(terms) > 500
    for term in terms:
        anchor = str(term)[len(str(IP)):]
        assert anchor in blocks, f"no anchor #{anchor}"
        assert str(escape(str(knowledge.ontology.value(term, RDFS.label)))) in blocks[anchor]
        definition = knowledge.ontology.value(term, SKOS.definition)
        if definition is not None:
            assert str(escape(str(definition))) in blocks[anchor]
    for criterion in knowledge.criteria.values():
        block = blocks[str(criterion.iri)[len(str(IP)):]]
        assert str(escape(criterion.text)) in block and str(escape(criterion.section_title)) in block
    ids = re.findall(r' id="([^"]+)"', page)
    # pyLODE itself prints ip:forPatient (a functional object property) twice; no other id repeats.
    assert not {i for i in ids if ids.count(i) > 1} - {"lode-forPatient"}, "pyLODE's anchors never clash with the term anchors"
