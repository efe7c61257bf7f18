"""HTML documentation of the ontology: pyLODE's page of the classes and properties, with a term index.

pyLODE (OntPub) documents the ontology's classes and properties; it leaves out named individuals,
which hold most of this ontology (criteria, pathways, guideline sections, CPT codes, controlled
values). The term index added to its page (``kb/templates/ontology-terms.html``) gives every term
of the ``ip:`` namespace (classes, properties and individuals) an anchor named after its IRI's
fragment, so ``/ontology#CG300-ACU-DUR`` opens the term, with its label, definition, kind, and for a
criterion the guideline's verbatim text, section and guideline. pyLODE's own anchors are prefixed
``lode-`` so they never clash with the term anchors.

``ipkg ontology-docs`` writes the page to ``docs/ontology/index.html`` (committed, so a fresh clone
serves it with no generator installed); ``tests/test_ontology_docs.py`` checks it is current.
pyLODE is a development dependency, imported only here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from rdflib import OWL, RDF, RDFS, SKOS, Graph, URIRef

from kb import resources
from kb.knowledge import Knowledge, load_knowledge
from kb.namespaces import IP

TEMPLATES = Path(__file__).resolve().parent / "templates"
LODE_PREFIX = "lode-"
TERMS_MARKER = '<div id="legend">'
TOC_MARKER = '<a href="#legend">Legend</a>'
PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property)


def output_file() -> Path:
    return resources.ontology_dir().parent / "docs" / "ontology" / "index.html"


@dataclass(frozen=True)
class Term:
    anchor: str
    iri: str
    label: str
    definition: str
    kind: str
    types: tuple[str, ...]
    lode_anchor: str | None
    verbatim: str | None = None
    guideline: str | None = None
    section: str | None = None
    criterion_id: str | None = None
    note: str | None = None


def _text(graph: Graph, subject: URIRef, predicate: URIRef) -> str:
    value = graph.value(subject, predicate)
    return str(value) if value is not None else ""


def _kind(graph: Graph, term: URIRef) -> str:
    types = set(graph.objects(term, RDF.type))
    if OWL.Class in types or RDFS.Class in types:
        return "class"
    if types & set(PROPERTY_TYPES):
        return "property"
    return "individual"


def terms(knowledge: Knowledge, fids: dict[str, str]) -> list[Term]:
    """Every labelled term of the ip: namespace, classes first, then properties, then individuals."""
    graph = knowledge.ontology
    found = []
    for subject in set(graph.subjects(RDFS.label, None)):
        if not isinstance(subject, URIRef) or not str(subject).startswith(str(IP)):
            continue
        anchor = str(subject)[len(str(IP)) :]
        if not anchor:
            continue
        named_types = (t for t in graph.objects(subject, RDF.type) if isinstance(t, URIRef))
        types = tuple(sorted(graph.namespace_manager.normalizeUri(t) for t in named_types))
        criterion = knowledge.criteria.get(subject)
        lode = fids.get(str(subject))
        found.append(
            Term(
                anchor=anchor,
                iri=str(subject),
                label=_text(graph, subject, RDFS.label),
                definition=_text(graph, subject, SKOS.definition) or _text(graph, subject, RDFS.comment),
                kind=_kind(graph, subject),
                types=types,
                lode_anchor=LODE_PREFIX + lode if lode else None,
                verbatim=criterion.text if criterion else None,
                guideline=criterion.guideline_number if criterion else None,
                section=criterion.section_title if criterion else None,
                criterion_id=criterion.id if criterion else None,
                note=_text(graph, subject, IP.modelingNote) or None,
            )
        )
    order = {"class": 0, "property": 1, "individual": 2}
    return sorted(found, key=lambda t: (order[t.kind], t.anchor.lower(), t.anchor))


def _prefix_lode_anchors(html: str, fids: dict[str, str]) -> str:
    names = {re.escape(fid) for fid in fids.values()}
    if not names:
        return html
    pattern = re.compile(r'(id="|href="#)(' + "|".join(sorted(names, key=len, reverse=True)) + r')"')
    return pattern.sub(lambda m: f'{m.group(1)}{LODE_PREFIX}{m.group(2)}"', html)


def render_html(knowledge: Knowledge | None = None) -> str:
    """The documentation page (pyLODE's output with the term index)."""
    from pylode import OntPub  # a development dependency: only the generator needs it

    knowledge = knowledge or load_knowledge()
    ontology = Graph()
    for path in resources.ontology_files():
        ontology.parse(path, format="turtle")
    publication = OntPub(ontology=ontology)
    html = str(publication.make_html())
    fids: dict[str, str] = dict(publication.fids)
    html = _prefix_lode_anchors(html, fids)
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    section = environment.get_template("ontology-terms.html").render(terms=terms(knowledge, fids))
    if TERMS_MARKER not in html or TOC_MARKER not in html:
        raise RuntimeError("pyLODE's page has changed: the term index has no place to go (see kb/ontology_docs.py)")
    html = html.replace(TERMS_MARKER, section + TERMS_MARKER, 1)
    toc = '<a href="#terms">Term index (every term, criteria with their verbatim text)</a></h4></li><li><h4>'
    return html.replace(TOC_MARKER, toc + TOC_MARKER, 1)


def write(path: Path | None = None) -> Path:
    target = path or output_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(), encoding="utf-8")
    return target
