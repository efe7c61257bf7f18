"""Set-based SHACL-SPARQL validation: many enriched cases in one Oxigraph store, one query per constraint.

``validate_cases`` gives, for each case, the ``(conforms, report)`` pair that
``kb.pipeline.validation.validate_case`` (pySHACL) gives: a W3C SHACL validation report with the same
results (focus node, source shape, source constraint, severity, messages with the same substitutions,
value, source constraint component) and the same ``sh:conforms``. ``tests/test_batch_differential.py``
checks that the two reports are isomorphic.

How:

1. The cases are split into partitions whose nodes are disjoint (two cases that use the same case
   IRI never share a store). Each partition is loaded into an in-memory Oxigraph store, with its
   blank nodes renamed per case, beside the ontology axioms pySHACL mixes into each case.
2. The focus nodes of each shape are those pySHACL selects: the case's nodes that are instances of a
   target class (through ``rdfs:subClassOf*``), for the shapes the request's review contexts make
   applicable (``kb.pipeline.validation.applicable_shapes``). They are written into a named graph.
3. Each SPARQL constraint of a shape with focus nodes runs once, rewritten so that ``$this`` ranges
   over the shape's focus nodes (``kb.batch.sparql_rewrite``). Its solutions, grouped by ``$this``,
   become validation results exactly as pySHACL makes them
   (``pyshacl.constraints.sparql.sparql_based_constraints``): ``?value`` (or the focus node when it is
   unbound) is the value, duplicate solutions are dropped, and every ``{?var}`` / ``{$var}`` of the
   constraint's and the shape's messages is replaced by the solution's value.
4. A case holding a literal that the store would read back in another form (``kb.batch.literals``:
   ``"05"^^xsd:integer`` becomes ``"5"``) is validated by pySHACL, as the single-request path does.
5. A shape that is not made of SHACL-SPARQL constraints only (``ShapePlan.by_pyshacl``) is validated
   by pySHACL for that case and its results join the report.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import pyoxigraph as ox
from pyshacl.rdfutil.clone import clone_blank_node
from pyshacl.rdfutil.inoculate import inoculate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.query import ResultRow
from rdflib.term import Identifier, Node

from kb.batch.casegraph import OxigraphTriples, oxigraph_triples
from kb.batch.casestore import CaseStoreGraph
from kb.batch.collection import collect_young_if_due
from kb.batch.oxterms import ox_iri
from kb.batch.parsing import rdflib_term
from kb.batch.shape_plans import ConstraintPlan, ShapePlan, shape_plans
from kb.batch.sparql_rewrite import CASE_GRAPH_VARIABLE, FOCUS_OF, RDFLIB_STR
from kb.knowledge import Knowledge
from kb.namespaces import RDF, SH
from kb.pipeline.validation import PreparedQueryGraph, applicable_shapes, run_shacl, validate_case

_CASE_GRAPH = ox.Variable(CASE_GRAPH_VARIABLE)
_FOCUS_OF = ox.NamedNode(FOCUS_OF)
_THIS = ox.Variable("this")
_RDFLIB_STR = ox.NamedNode(RDFLIB_STR)
_SPECIAL = ("failure", "path", "value", "this")


@dataclass
class _Case:
    index: int
    graph: Graph
    request: URIRef
    bnodes: dict[str, BNode] = field(default_factory=dict)  # Oxigraph blank node id -> the case's blank node
    # The case's triples as Oxigraph quads of its graph, its blank nodes renamed (_read_case).
    quads: list[ox.Quad] = field(default_factory=list)
    nodes: set[Node] = field(default_factory=set)
    results: list[list[tuple[Node, Node, object]]] = field(default_factory=list)
    violation: bool = False
    graph_name: ox.NamedNode | None = None


# -- terms between rdflib and Oxigraph ---------------------------------------------------------


def _from_ox(term: object, case: _Case | None) -> Node:
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return rdflib_term(term, {})  # the process's shared rdflib term (kb.batch.parsing)
    if isinstance(term, ox.BlankNode):
        if case is not None and term.value in case.bnodes:
            return case.bnodes[term.value]
        return BNode(term.value)
    raise TypeError(f"unexpected term {term!r}")


def _read_case(case: _Case, shared: frozenset[URIRef]) -> bool:
    """The case's triples as Oxigraph quads of its graph (``_Case.quads``, ``_Case.graph_name``, from
    ``kb.batch.casegraph``, which converts a parsed case's triples once for the form screen and this store) and the nodes it owns
    (``_Case.nodes``: its IRIs outside the ontology and the W3C vocabularies). False when the case
    holds a literal the store would read back in another form (``kb.batch.literals``): such a case is
    validated by pySHACL."""
    view = oxigraph_triples(case.graph)
    if view is None:
        return False
    assert isinstance(view.graph, ox.NamedNode)
    case.quads, case.graph_name = view.quads, view.graph
    case.bnodes = view.blanks
    case.nodes = {iri for iri in view.iris if iri not in shared}
    return True


@lru_cache(maxsize=4)
def _mixed_axioms_graph(knowledge: Knowledge) -> Graph:
    """The ontology triples pySHACL mixes into a case (``ont_graph``)."""
    mixed = inoculate(Graph(), knowledge.axioms)  # type: ignore[arg-type]
    assert isinstance(mixed, Graph)
    return mixed


@lru_cache(maxsize=4)
def _mixed_axiom_triples(knowledge: Knowledge) -> frozenset[tuple[Node, Node, Node]]:
    """The mixed ontology triples, as a set to test a case's triples against."""
    return frozenset(_mixed_axioms_graph(knowledge))


@lru_cache(maxsize=4)
def _mixed_axioms(knowledge: Knowledge) -> tuple[ox.Quad, ...]:
    """The mixed ontology triples as Oxigraph quads."""
    axioms = OxigraphTriples(graph=ox.DefaultGraph())
    axioms.extend(_mixed_axioms_graph(knowledge), as_written_only=False)
    return tuple(axioms.quads)


@lru_cache(maxsize=4)
def _knowledge_terms(knowledge: Knowledge) -> frozenset[URIRef]:
    """The IRIs the ontology and shapes name: shared by every case, never a case's own node."""
    return frozenset(t for g in (knowledge.ontology, knowledge.shapes) for triple in g for t in triple if isinstance(t, URIRef))


def _partitions(cases: list[_Case]) -> list[list[_Case]]:
    """Groups of cases with pairwise disjoint nodes (``_Case.nodes``), in input order (first fit)."""
    groups: list[tuple[list[_Case], set[Node]]] = []
    for case in cases:
        for members, taken in groups:
            if taken.isdisjoint(case.nodes):
                members.append(case)
                taken |= case.nodes
                break
        else:
            groups.append(([case], set(case.nodes)))
    return [members for members, _ in groups]


# -- results as pySHACL makes them ---------------------------------------------------------------


def _format(message: str, bound: dict[str, Node]) -> str:
    for var, val in bound.items():
        message = re.sub(f"{{[?$]{var}}}", str(val), message)
    return message


def _result_triples(
    plan: ShapePlan, constraint: ConstraintPlan, focus: Node, value: Node | None, path: Node | None, extra: dict[str, Node]
) -> list[tuple[Node, Node, object]]:
    """One validation result, as pySHACL's ``make_v_result`` lists it (objects to clone are tagged)."""
    node = BNode()
    triples: list[tuple[Node, Node, object]] = [
        (node, RDF.type, SH.ValidationResult),
        (node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent),
        (node, SH.sourceShape, plan.shape),
        (node, SH.resultSeverity, plan.severity),
        (node, SH.focusNode, ("data", focus)),
    ]
    shown_value = value if value is not None else focus
    triples.append((node, SH.value, ("data", shown_value)))
    if path is not None:
        triples.append((node, SH.resultPath, ("shapes", path)))
    triples.append((node, SH.sourceConstraint, ("shapes", constraint.node)))
    bound: dict[str, Node] = dict(extra)
    bound["this"] = focus
    if path is not None:
        bound["path"] = path
    bound["value"] = shown_value
    shape_messages = list(plan.messages)
    for m in constraint.messages:
        if m in shape_messages:
            continue
        triples.append((node, SH.resultMessage, Literal(_format(str(m), bound))))
    for m in shape_messages:
        triples.append((node, SH.resultMessage, Literal(_format(str(m), bound))))
    return triples


Row = dict[str, Node]


def _ox_rows(solutions: object, case_of: dict[Node, _Case]) -> list[tuple[_Case | None, Row]]:
    """Oxigraph solutions as rows of rdflib terms, each with the case its ``?this`` belongs to.

    Read to the end here, so the solutions are dropped on this thread whatever the caller does next
    (Oxigraph's query solutions must not be freed on another thread).
    """
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    rows: list[tuple[_Case | None, Row]] = []
    for solution in solutions:
        this_term = solution["this"] if "this" in names else None
        case = case_of.get(_from_ox(this_term, None)) if this_term is not None else None
        row: Row = {}
        for name in names:
            term = solution[name]
            if term is not None:
                row[name] = _from_ox(term, case)
        rows.append((case, row))
    return rows


def _collect(
    rows: Iterable[tuple[_Case | None, Row]], plan: ShapePlan, constraint: ConstraintPlan, fixed: tuple[_Case, Node] | None
) -> None:
    """Validation results from a constraint's rows, deduplicated per focus node as pySHACL does."""
    seen: dict[Node, list[tuple[Node | None, Node | None, Row]]] = defaultdict(list)
    for row_case, row in rows:
        if "failure" in row:
            raise NotImplementedError("?failure in a SPARQL constraint is validated by pySHACL")
        this = row.get("this")
        if fixed is not None:
            case, focus_node = fixed
        elif row_case is not None and this is not None:
            case, focus_node = row_case, this
        else:
            continue
        value = row.get("value")
        path = row.get("path")
        extra = {k: v for k, v in row.items() if k not in _SPECIAL}
        if this is None and value is None and path is None:
            continue
        key = (path, value, extra)
        if key in seen[focus_node]:
            continue
        seen[focus_node].append(key)
        case.results.append(_result_triples(plan, constraint, this if this is not None else focus_node, value, path, extra))
        if plan.severity == SH.Violation:
            case.violation = True


def _report(case: _Case, knowledge: Knowledge, extra_reports: list[Graph]) -> tuple[bool, Graph]:
    conforms = not case.violation
    for other in extra_reports:
        if (None, SH.conforms, Literal(False)) in other:
            conforms = False
    report = CaseStoreGraph(bind_namespaces="none")  # read again by the decision (kb.batch.casestore)
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    report.add((root, SH.conforms, Literal(conforms)))
    cloned: dict[tuple[str, str], Node] = {}
    for triples in case.results:
        report.add((root, SH.result, triples[0][0]))
        for s, p, o in triples:
            if isinstance(o, tuple):
                source, node = o
                if isinstance(node, Literal):
                    o = node
                elif (source, str(node)) in cloned:
                    o = cloned[(source, str(node))]
                elif isinstance(node, BNode):
                    graph = case.graph if source == "data" else knowledge.shapes
                    o = cloned[(source, str(node))] = clone_blank_node(graph, node, report, keepid=True)
                else:
                    o = cloned[(source, str(node))] = URIRef(str(node))
            assert isinstance(o, (URIRef, BNode, Literal))
            report.add((s, p, o))
    for other in extra_reports:
        other_root = other.value(predicate=RDF.type, object=SH.ValidationReport)
        for result in other.objects(other_root, SH.result):
            report.add((root, SH.result, result))
        for triple in other:
            if triple[0] != other_root:
                report.add(triple)
    return conforms, report


# -- the chunk ------------------------------------------------------------------------------------


def _focus_nodes(
    store: ox.Store,
    targets: list[URIRef],
    case_graphs: dict[str, _Case],
    owner: dict[Node, _Case],
    allowed: dict[int, set[URIRef]],
    plans: dict[URIRef, ShapePlan],
) -> tuple[dict[URIRef, set[Node]], list[ox.Quad]]:
    """The focus nodes of each shape, and the quads that record them in each case's graph."""
    values = " ".join(f"<{t}>" for t in targets)
    focus_rows = store.query(
        "SELECT DISTINCT ?g ?this ?class WHERE { VALUES ?class { " + values + " } "
        "?k <http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?class . GRAPH ?g { ?this a ?k } }"
    )
    assert isinstance(focus_rows, ox.QuerySolutions)
    focus: dict[URIRef, set[Node]] = defaultdict(set)
    markers: list[ox.Quad] = []
    for row in focus_rows:
        this_term, cls, graph_term = row["this"], row["class"], row["g"]
        if this_term is None or not isinstance(cls, ox.NamedNode) or not isinstance(graph_term, ox.NamedNode):
            continue
        node = _from_ox(this_term, None)
        owning = case_graphs.get(graph_term.value)
        if owning is None or owner.get(node) is not owning:
            continue
        klass = URIRef(cls.value)
        for shape in allowed[owning.index]:
            if klass in plans[shape].targets and node not in focus[shape]:
                focus[shape].add(node)
                assert isinstance(this_term, (ox.NamedNode, ox.BlankNode))
                markers.append(ox.Quad(this_term, _FOCUS_OF, ox_iri(shape), graph_term))
    return focus, markers


def _validate_partition(cases: list[_Case], knowledge: Knowledge, plans: dict[URIRef, ShapePlan]) -> None:
    store = ox.Store()
    # The axioms serve the focus node selection (rdfs:subClassOf*); the constraints read each case's
    # own graph (no constraint reads the ontology's axioms: ShapePlan.reads_ontology sends one that
    # does to rdflib, over the case and the axioms).
    store.extend(_mixed_axioms(knowledge))
    owner: dict[Node, _Case] = {}
    allowed: dict[int, set[URIRef]] = {}
    case_graphs: dict[str, _Case] = {}
    for case in cases:
        assert case.graph_name is not None
        case_graphs[case.graph_name.value] = case
        store.extend(case.quads)
        for node in case.nodes:
            owner[node] = case
        applicable = applicable_shapes(case.graph, case.request, knowledge)
        allowed[case.index] = {s for s in applicable if s in plans and not plans[s].by_pyshacl}
    targets = sorted({t for case in cases for s in allowed[case.index] for t in plans[s].targets})
    if not targets:
        return
    # In a function of its own: Oxigraph's query solutions may only be dropped on the thread that made
    # them, and rdflib's SPARQL evaluation below leaves reference cycles through this frame, which a
    # later collection may free on another thread.
    focus, markers = _focus_nodes(store, targets, case_graphs, owner, allowed, plans)
    store.extend(markers)
    labels = {oxid: bnode for case in cases for oxid, bnode in case.bnodes.items()}

    def rdflib_str(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.Literal:
        if isinstance(term, ox.BlankNode):
            return ox.Literal(str(labels.get(term.value, term.value)))
        return ox.Literal(term.value)

    functions: dict[ox.NamedNode, Callable[..., ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None]] = {
        _RDFLIB_STR: rdflib_str
    }
    by_rdflib: list[tuple[_Case, ShapePlan, ConstraintPlan, Node]] = []
    for shape in sorted(focus):
        plan = plans[shape]
        for constraint in plan.constraints:
            if constraint.set_query is not None:
                _collect(_ox_rows(store.query(constraint.set_query, custom_functions=functions), owner), plan, constraint, None)
                continue
            nodes = focus[shape]
            if constraint.concat_query is not None and constraint.concat is not None:
                # Set-based, except the focus nodes whose GROUP_CONCAT joins several items (their order is rdflib's).
                variable, separator = constraint.concat
                joined = _ox_rows(store.query(constraint.concat_query, custom_functions=functions), owner)
                nodes = {row["this"] for _, row in joined if separator in str(row.get(variable, ""))}
                _collect([(c, row) for c, row in joined if row.get("this") not in nodes], plan, constraint, None)
            for node in sorted(nodes, key=str):
                case = owner[node]
                if constraint.by_rdflib:
                    by_rdflib.append((case, plan, constraint, node))
                    continue
                assert isinstance(node, URIRef) and case.graph_name is not None
                bindings: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {_CASE_GRAPH: case.graph_name}
                if constraint.reads_this:
                    bindings[_THIS] = ox_iri(node)
                rows = _ox_rows(store.query(constraint.ox_text, substitutions=bindings, custom_functions=functions), owner)
                _collect(rows, plan, constraint, (case, node))
    # The constraints rdflib evaluates, case by case: each case joins the scratch graph once.
    for case, group in itertools.groupby(sorted(by_rdflib, key=lambda job: job[0].index), key=lambda job: job[0]):
        jobs = [(plan, constraint, node) for _, plan, constraint, node in group]
        for (plan, constraint, node), rows in zip(jobs, _rdflib_rows(case, jobs, knowledge), strict=True):
            _collect(rows, plan, constraint, (case, node))


_SCRATCH = threading.local()


def _drop_scratch() -> None:
    """Let the thread's scratch graph go (at the end of each chunk).

    rdflib's memory store keeps an index entry for every subject and object it ever held, even after
    their triples are removed; a scratch graph kept from chunk to chunk grew with every case (about
    10 MiB per 1,000 cases). Built again at the next chunk's first use, from the mixed axioms only.
    """
    _SCRATCH.graph = None
    _SCRATCH.knowledge = None


def _rdflib_rows(
    case: _Case, jobs: list[tuple[ShapePlan, ConstraintPlan, Node]], knowledge: Knowledge
) -> list[list[tuple[_Case | None, Row]]]:
    """Each job's rows (in the jobs' order) from rdflib over the case and the mixed axioms, with $this pre-bound (pySHACL's way).

    The axioms stay in a scratch graph of the thread; the case's triples are added for its queries
    and taken out again.
    """
    scratch = getattr(_SCRATCH, "graph", None)
    if scratch is None or getattr(_SCRATCH, "knowledge", None) is not knowledge:
        # rdflib's plain store: the same index order as its default store for every pattern a
        # constraint can match, without the bookkeeping of named graphs on each add and remove.
        scratch = PreparedQueryGraph(store="SimpleMemory")
        for triple in _mixed_axioms_graph(knowledge):
            scratch.add(triple)
        _SCRATCH.graph, _SCRATCH.knowledge = scratch, knowledge
    axioms = _mixed_axiom_triples(knowledge)
    added = [t for t in case.graph if t not in axioms]
    for triple in added:
        scratch.add(triple)
    try:
        answers: list[list[tuple[_Case | None, Row]]] = []
        for _, constraint, node in jobs:
            assert isinstance(node, (URIRef, BNode))
            bindings: dict[str, Identifier] = {"this": node} if constraint.reads_this else {}
            rows: list[tuple[_Case | None, Row]] = []
            for solution in scratch.query(constraint.text, initBindings=bindings):
                assert isinstance(solution, ResultRow)
                rows.append((case, {k: v for k, v in solution.asdict().items() if v is not None}))
            answers.append(rows)
        return answers
    finally:
        for triple in added:
            scratch.remove(triple)


def validate_cases(items: Sequence[tuple[Graph, URIRef]], knowledge: Knowledge) -> list[tuple[bool, Graph]]:
    """The ``(conforms, report)`` of each enriched case, in order, as ``validate_case`` gives them."""
    plans = shape_plans(knowledge)
    cases = [_Case(index=i, graph=graph, request=request) for i, (graph, request) in enumerate(items)]
    # A case with a literal the store would read back in another form is validated by pySHACL.
    shared = _knowledge_terms(knowledge)
    by_pyshacl: set[int] = set()
    for case in cases:
        if not _read_case(case, shared):
            by_pyshacl.add(case.index)
    try:
        for group in _partitions([c for c in cases if c.index not in by_pyshacl]):
            _validate_partition(group, knowledge, plans)
    finally:
        _drop_scratch()
    reports: list[tuple[bool, Graph]] = []
    for case in cases:
        if case.index in by_pyshacl:
            reports.append(validate_case(case.graph, knowledge, case.request))
            collect_young_if_due()
            continue
        fallback = [s for s in applicable_shapes(case.graph, case.request, knowledge) if s not in plans or plans[s].by_pyshacl]
        extra: list[Graph] = []
        if fallback:
            data = Graph()
            for triple in case.graph:
                data.add(triple)
            extra.append(run_shacl(data, knowledge.shapes, knowledge.axioms, fallback)[1])
        reports.append(_report(case, knowledge, extra))
        collect_young_if_due()
    return reports
