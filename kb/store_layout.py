"""The store layout: which named graph holds what, so the union default graph holds each fact once.

Graph names (all under https://w3id.org/ipkg/graph/):
  ontology                     the ontology (replaced at start-up)
  shapes                       the criterion shapes (replaced at start-up)
  term-types                   the classes of the ontology's individuals entailed by rdfs:subClassOf
                               and not stated in the ontology (replaced at start-up)
  layout                       the layout version of the store (one triple)
  case/{case id}               a case as submitted
  case-receipt/{case id}       when the service stored the case (ip:caseReceivedAt on the case graph IRI)
  derived/{determination id}   the facts the enrichment step derived about the case's nodes, only
  report/{determination id}    the SHACL validation report as pySHACL produced it, without its copies of
                               case blank nodes (restored on read)
  determination/{id}           the determination (RDF, with its JSON machine form)

The enrichment step copies the facts it needs about ontology terms (CPT codes, conditions, regions:
their classes and properties) into the case graph it validates. Those facts are the ontology's and
live once in the ontology and term-types graphs; a derived graph keeps only the triples about the
case's own nodes. Case data may not make statements about ontology terms (the case-form check), so
"a triple whose subject is an ontology term" is exactly "a fact copied from the knowledge".

The graph that SHACL validated for a determination is therefore
  case/{case id} + derived/{determination id} + the term facts of the ontology and term-types graphs
(see ``Repository.validated_graph``).

Layout 1 (before this module) copied the term facts into every derived graph, so the union default
graph returned them once per determination, and stored each report with pySHACL's copies of case
blank nodes (the description of a blank-node ``sh:value``, already in the case or derived graph).
``migrate`` rewrites such a store in place at start-up: derived graphs without the term facts,
reports without the copies (``Repository.get_report`` puts them back on read).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rdflib import RDF, Graph, URIRef

from kb.knowledge import Knowledge
from kb.namespaces import IP
from kb.store.base import Store, Triple
from kb.store.terms import from_rdflib

GRAPH = "https://w3id.org/ipkg/graph/"
ONTOLOGY_GRAPH = GRAPH + "ontology"
SHAPES_GRAPH = GRAPH + "shapes"
TERM_TYPES_GRAPH = GRAPH + "term-types"
LAYOUT_GRAPH = GRAPH + "layout"
DERIVED_PREFIX = GRAPH + "derived/"
MIGRATION_PREFIX = GRAPH + "migrating/"
LAYOUT_VERSION = 2
CONFORMS_TO = URIRef("http://purl.org/dc/terms/conformsTo")
LAYOUT_IRI = "https://w3id.org/ipkg/store-layout/"
MIGRATION_BATCH = 500

_ONTOLOGY_NS = str(IP)


def case_graph(case_id: str) -> str:
    return f"{GRAPH}case/{case_id}"


def case_receipt_graph(case_id: str) -> str:
    """The graph recording when the service stored a case (one triple, ``ip:caseReceivedAt``)."""
    return f"{GRAPH}case-receipt/{case_id}"


def report_graph(det_id: str) -> str:
    return f"{GRAPH}report/{det_id}"


def derived_graph(det_id: str) -> str:
    return f"{DERIVED_PREFIX}{det_id}"


def determination_graph_name(det_id: str) -> str:
    return f"{GRAPH}determination/{det_id}"


def is_term_fact(subject: object) -> bool:
    """Whether a triple with this subject states something about an ontology term."""
    return isinstance(subject, URIRef) and str(subject).startswith(_ONTOLOGY_NS)


def _is_term_fact_wire(triple: Triple) -> bool:
    subject = triple[0]
    return subject[0] == "u" and subject[1].startswith(_ONTOLOGY_NS)


def derived_facts(enriched: Graph, submitted: Graph) -> Graph:
    """What enrichment added about the case's own nodes (no copy of the case or of term facts)."""
    derived = Graph()
    for triple in enriched:
        if triple not in submitted and not is_term_fact(triple[0]):
            derived.add(triple)
    return derived


def term_facts(knowledge: Knowledge) -> Graph:
    """Every fact about ontology terms that enrichment may copy into a case (their classes and properties)."""
    facts = Graph()
    for term, classes in knowledge.individual_types.items():
        for cls in classes:
            facts.add((term, RDF.type, cls))
    for term, pairs in knowledge.term_facts.items():
        for prop, value in pairs:
            facts.add((term, prop, value))  # type: ignore[arg-type]
    return facts


def term_types(knowledge: Knowledge) -> Graph:
    """The term facts that the ontology graph does not state itself (entailed superclasses)."""
    entailed = Graph()
    for triple in term_facts(knowledge):
        if triple not in knowledge.ontology:
            entailed.add(triple)
    return entailed


def layout_triples(version: int = LAYOUT_VERSION) -> list[Triple]:
    return [(("u", LAYOUT_GRAPH), from_rdflib(CONFORMS_TO), ("u", f"{LAYOUT_IRI}{version}"))]


def layout_version(store: Store) -> int:
    """The layout a store was written in: 1 when it has no layout graph but holds data, else the stated one."""
    triples = store.graph(LAYOUT_GRAPH)
    if triples:
        for _, _, obj in triples:
            if obj[0] == "u" and obj[1].startswith(LAYOUT_IRI):
                return int(obj[1][len(LAYOUT_IRI) :])
    return 1 if store.graph_names(GRAPH + "determination/") else LAYOUT_VERSION


def _batches(names: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


def _read(store: Store, names: list[str]) -> dict[str, list[Triple]]:
    graphs: dict[str, list[Triple]] = {}
    for name in names:
        triples = store.graph(name)
        if triples is not None:
            graphs[name] = triples
    return graphs


def _replace(store: Store, graphs: dict[str, list[Triple]]) -> None:
    """Replace whole graphs: drop then write (a write adds to a graph of the same name)."""
    store.drop_graphs(list(graphs))
    store.put_graphs(graphs)


def _report_without_case_copies(store: Store, det_id: str, derived: list[Triple]) -> list[Triple] | None:
    """A determination's stored report without pySHACL's copies of case blank nodes, as layout 2 stores it.

    A copy is a report triple about a blank node that the case graph (named by the determination's
    ``ip:caseGraph``) or the derived graph also holds; ``Repository.get_report`` restores them on read.
    None when the determination has no report.
    """
    report = store.graph(report_graph(det_id))
    if report is None:
        return None
    known = set(derived)
    case_graph_property = ("u", str(IP.caseGraph))
    for _, predicate, obj in store.graph(determination_graph_name(det_id)) or []:
        if predicate == case_graph_property and obj[0] == "u":
            known.update(store.graph(obj[1]) or [])
    return [t for t in report if not (t[0][0] == "b" and t in known)]


def _finish_staged(store: Store) -> int:
    """Complete a migration a stop interrupted: each staged graph replaces its original, then goes."""
    staged = store.graph_names(MIGRATION_PREFIX)
    for batch in _batches(staged, MIGRATION_BATCH):
        graphs = _read(store, batch)
        _replace(store, {GRAPH + name[len(MIGRATION_PREFIX) :]: triples for name, triples in graphs.items()})
        store.drop_graphs(batch)
    return len(staged)


def migrate(store: Store, log: bool = True) -> int:
    """Bring a store to the current layout; returns how many derived graphs were rewritten.

    Each batch of derived graphs is first written, filtered, under ``migrating/derived/{id}``, with
    the reports of the same determinations without pySHACL's copies of case blank nodes under
    ``migrating/report/{id}`` (one transaction); they then replace the originals, then the staged
    copies are dropped. A stop at any
    point leaves every derived graph either as it was or staged; the next start finishes the staged
    ones, so no determination loses its derived facts. The layout triple is written last.
    """
    rewritten = _finish_staged(store)
    if layout_version(store) >= LAYOUT_VERSION:
        store.put_graphs({LAYOUT_GRAPH: layout_triples()})
        return rewritten
    names = store.graph_names(DERIVED_PREFIX)
    for index, batch in enumerate(_batches(names, MIGRATION_BATCH)):
        graphs = _read(store, batch)
        staged = {
            MIGRATION_PREFIX + name[len(GRAPH) :]: [t for t in triples if not _is_term_fact_wire(t)]
            for name, triples in graphs.items()
        }
        for name, derived in graphs.items():
            det_id = name[len(DERIVED_PREFIX) :]
            report = _report_without_case_copies(store, det_id, derived)
            if report is not None:
                staged[MIGRATION_PREFIX + report_graph(det_id)[len(GRAPH) :]] = report
        store.put_graphs(staged)
        _finish_staged(store)
        rewritten += len(staged)
        if log:
            done = min((index + 1) * MIGRATION_BATCH, len(names))
            print(f"\rstore layout {LAYOUT_VERSION}: derived graphs rewritten {done}/{len(names)}", end="", file=sys.stderr)
    if log and names:
        print(file=sys.stderr)
    store.drop_graphs([LAYOUT_GRAPH])
    store.put_graphs({LAYOUT_GRAPH: layout_triples()})
    return rewritten

