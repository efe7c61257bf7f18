"""What the set-based validator evaluates for each criterion shape, read once from the shapes graph.

A shape is evaluated set-based when it is a node shape whose only targets are ``sh:targetClass``
and whose only constraints are SHACL-SPARQL constraints (``sh:sparql``), which is how every
criterion shape of the project is written. Any other shape (a property shape, a core constraint
component such as ``sh:minCount``, another kind of target) is marked ``by_pyshacl`` and validated by
pySHACL, case by case, and its results are merged into the same report.

For each SPARQL constraint the plan holds the text pySHACL would run (its prefixes, then the
``sh:select`` text) and, when the text can be rewritten (see ``kb.batch.sparql_rewrite``), the query
that answers it for every focus node at once. A constraint whose projection does not name
``$this`` is run once per focus node with ``$this`` substituted, as pySHACL does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from kb.batch.sparql_rewrite import (
    RewriteError,
    bind_this_to_focus,
    mentions_this,
    reads_unsupported_variable,
    with_rdflib_str,
    wrap_in_case_graph,
)
from kb.knowledge import Knowledge
from kb.namespaces import IP, SH

# Predicates of a node shape that carry no constraint (pySHACL ignores them when validating).
_NON_CONSTRAINT = frozenset(
    {
        RDF.type,
        SH.targetClass,
        SH.severity,
        SH.message,
        SH.sparql,
        SH.name,
        SH.description,
        SH.order,
        SH.group,
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        IP.criterion,
    }
)
_PYSHACL_DEFAULT_PREFIXES = {
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
}
_PROJECTION = re.compile(r"^\s*SELECT\s+(DISTINCT\s+|REDUCED\s+)?(?P<vars>.*?)\bWHERE\b", re.IGNORECASE | re.DOTALL)
_ONTOLOGY_TERMS = re.compile(r"\b(rdfs|owl):|www\.w3\.org/2000/01/rdf-schema#|www\.w3\.org/2002/07/owl#|\bsh:")
_GROUP_CONCAT = re.compile(r"\bGROUP_CONCAT\s*\(", re.IGNORECASE)
# LIMIT / OFFSET count the solutions of one focus node in pySHACL (over a chunk they would count the
# chunk's), and without ORDER BY which solutions they keep is the engine's choice: such a constraint is
# evaluated by rdflib, per focus node, as GROUP_CONCAT ones are.
_CONCAT = re.compile(
    r"\(\s*GROUP_CONCAT\s*\([^;]*;\s*separator\s*=\s*\"(?P<separator>[^\"\\]*)\"\s*\)\s*AS\s+[?$](?P<var>\w+)\s*\)",
    re.IGNORECASE,
)
_SLICE = re.compile(r"\b(LIMIT|OFFSET)\s+\d+", re.IGNORECASE)
_PROJECTS_THIS = re.compile(r"(^|[\s(])[?$]this\b|^\s*\*")


@dataclass(frozen=True)
class ConstraintPlan:
    node: Node
    text: str  # the query pySHACL runs (prefixes, then the sh:select text)
    set_query: str | None  # the query answering every focus node at once, if the text allows it
    ox_text: str  # the text for Oxigraph per focus node (STR() as rdflib answers it)
    reads_this: bool
    messages: tuple[Literal, ...]
    # GROUP_CONCAT (and LIMIT / OFFSET) leave the order of the values to the engine, and Oxigraph's
    # differs from rdflib's: such a constraint is evaluated by rdflib, per focus node, as pySHACL does.
    order_sensitive: bool = False
    # A constraint that reads the ontology's axioms (rdfs:, owl: terms) is evaluated by rdflib too:
    # the store keeps each case's graph apart from the axioms.
    reads_ontology: bool = False
    # For a constraint order-sensitive only through one GROUP_CONCAT with a separator: the query answering
    # every focus node at once, and (the variable the GROUP_CONCAT binds, the separator). A value without
    # the separator joins at most one item, whatever the order, so only the focus nodes whose value holds
    # the separator need rdflib.
    concat_query: str | None = None
    concat: tuple[str, str] | None = None

    @property
    def by_rdflib(self) -> bool:
        return self.order_sensitive or self.reads_ontology


@dataclass(frozen=True)
class ShapePlan:
    shape: URIRef
    targets: frozenset[URIRef]
    severity: URIRef
    messages: tuple[Literal, ...]
    constraints: tuple[ConstraintPlan, ...]
    by_pyshacl: bool


def _prefixes(shapes: Graph, constraint: Node) -> dict[str, str]:
    """The prefixes pySHACL declares for a constraint (its defaults, then sh:prefixes' sh:declare)."""
    prefixes = dict(_PYSHACL_DEFAULT_PREFIXES)
    ontologies = set(shapes.subjects(RDF.type, OWL.Ontology))
    global_declares = {d for o in ontologies for d in shapes.objects(o, SH.declare)}
    for holder in shapes.objects(constraint, SH.prefixes):
        own = set(shapes.objects(holder, SH.declare))
        declares = own if own and holder in ontologies else global_declares | own
        for declare in declares:
            prefix = shapes.value(declare, SH.prefix)
            namespace = shapes.value(declare, SH.namespace)
            if prefix is None or namespace is None:
                raise ValueError(f"sh:declare {declare} needs one sh:prefix and one sh:namespace")
            prefixes[str(prefix)] = str(namespace)
    return prefixes


def _with_prefixes(prefixes: dict[str, str], text: str) -> str:
    head = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())
    return f"{head}\n{text}"


def _messages(shapes: Graph, node: Node) -> tuple[Literal, ...]:
    return tuple(sorted((m for m in shapes.objects(node, SH.message) if isinstance(m, Literal)), key=str))


def _constraint_plan(shapes: Graph, shape: URIRef, node: Node) -> ConstraintPlan | None:
    deactivated = shapes.value(node, SH.deactivated)
    if isinstance(deactivated, Literal) and deactivated.value is True:
        return None
    select = shapes.value(node, SH.select)
    if not isinstance(select, Literal):
        raise ValueError(f"{node}: a SPARQL constraint needs one sh:select")
    body = str(select)
    prefixes = _prefixes(shapes, node)
    reads_this = mentions_this(body)
    set_query: str | None = None
    projection = _PROJECTION.match(body)
    if reads_this and projection and _PROJECTS_THIS.search(projection.group("vars")):
        try:
            set_query = _with_prefixes(prefixes, with_rdflib_str(bind_this_to_focus(body, str(shape))))
        except RewriteError:
            set_query = None
    order_sensitive = bool(_GROUP_CONCAT.search(body) or _SLICE.search(body))
    reads_ontology = bool(_ONTOLOGY_TERMS.search(body))
    concat = _single_concat(body) if order_sensitive and not reads_ontology and not _SLICE.search(body) else None
    return ConstraintPlan(
        node,
        _with_prefixes(prefixes, body),
        None if order_sensitive or reads_ontology else set_query,
        _with_prefixes(prefixes, wrap_in_case_graph(with_rdflib_str(body))),
        reads_this,
        _messages(shapes, node),
        order_sensitive,
        reads_ontology,
        set_query if concat is not None else None,
        concat if set_query is not None else None,
    )


def _single_concat(body: str) -> tuple[str, str] | None:
    """(the variable, the separator) of the text's one GROUP_CONCAT, when it has exactly one with a separator."""
    if len(_GROUP_CONCAT.findall(body)) != 1:
        return None
    match = _CONCAT.search(body)
    if match is None or not match.group("separator"):
        return None
    return match.group("var"), match.group("separator")


def _shape_plan(shapes: Graph, shape: URIRef) -> ShapePlan | None:
    deactivated = shapes.value(shape, SH.deactivated)
    if isinstance(deactivated, Literal) and deactivated.value is True:
        return None
    severity = shapes.value(shape, SH.severity)
    predicates = set(shapes.predicates(shape))
    targets = frozenset(t for t in shapes.objects(shape, SH.targetClass) if isinstance(t, URIRef))
    constraints: list[ConstraintPlan] = []
    by_pyshacl = bool(predicates - _NON_CONSTRAINT)
    if not by_pyshacl:
        for node in shapes.objects(shape, SH.sparql):
            select = shapes.value(node, SH.select)
            if isinstance(select, Literal) and reads_unsupported_variable(str(select)):
                by_pyshacl = True
                break
            plan = _constraint_plan(shapes, shape, node)
            if plan is not None:
                constraints.append(plan)
    return ShapePlan(
        shape=shape,
        targets=targets,
        severity=severity if isinstance(severity, URIRef) else SH.Violation,
        messages=_messages(shapes, shape),
        constraints=tuple(sorted(constraints, key=lambda c: str(c.node))),
        by_pyshacl=by_pyshacl,
    )


@lru_cache(maxsize=4)
def shape_plans(knowledge: Knowledge) -> dict[URIRef, ShapePlan]:
    """The plans of the criterion shapes (those the engine validates a case against), by shape IRI."""
    shapes = knowledge.shapes
    plans: dict[URIRef, ShapePlan] = {}
    for shape in sorted({c.shape for c in knowledge.criteria.values() if c.shape is not None}):
        plan = _shape_plan(shapes, shape)
        if plan is not None:
            plans[shape] = plan
    return plans

