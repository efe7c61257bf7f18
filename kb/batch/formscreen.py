"""Set-based screening of the case-form shapes: which cases of a chunk might fail them.

The case-form shapes (``shapes/case-form*.ttl``) are core constraints (cardinalities, datatypes,
node kinds, value lists, patterns, ranges, ``sh:or``) and a few SHACL-SPARQL constraints, checked
by pySHACL case by case (``kb.pipeline.caseform``). Almost every case conforms to them, and a
conforming case gets no form problem from them: so the chunk's cases are screened at once and
pySHACL runs only for the cases the screen cannot clear, which then get exactly the single-request
path's problems.

The screen is conservative by construction: each shape becomes one SPARQL query over an Oxigraph
store holding each case in its own named graph, selecting the cases with a focus node for which it
cannot prove that every constraint holds. A constraint passes only under a condition that implies
pySHACL's (a datatype also needs a plain lexical form, a range a numeric or date value of a known
datatype, a count more than one is not proven at all); every expression is wrapped so that a SPARQL
error counts as "not proven". A shape using anything else (another constraint component, a path
other than an IRI, another kind of target) makes the screen incomplete, and every case is then
checked by pySHACL. ``tests/test_batch_differential.py`` compares the form problems of the batch
path and of the single-request path.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kb.batch.casegraph import oxigraph_triples
from kb.batch.collection import collect_young_if_due
from kb.batch.sparql_rewrite import RDFLIB_STR, with_rdflib_str
from kb.knowledge import Knowledge
from kb.namespaces import RDF, RDFS, SH, XSD
from kb.pipeline.caseform import check_case_form

CASE_GRAPH = "ipkgCase"
_RDFLIB_STR = ox.NamedNode(RDFLIB_STR)

# Lexical forms under which a literal of the datatype is certainly well-typed for rdflib and pySHACL.
_LEXICAL: dict[Node, str] = {
    XSD.integer: r"^[+-]?[0-9]+$",
    XSD.decimal: r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$",
    XSD.double: r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    XSD.boolean: r"^(true|false)$",
    XSD.date: r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    XSD.gYearMonth: r"^[0-9]{4}-(0[1-9]|1[0-2])$",
    XSD.gYear: r"^[0-9]{4}$",
}
_OPERATORS: dict[Node, str] = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
_NUMERIC = (XSD.integer, XSD.decimal, XSD.double)
_NODE_KINDS: dict[Node, str] = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isIRI({v}) || isBlank({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}
# Predicates of a shape that constrain nothing (pySHACL reads them for targets and reports only).
_DESCRIPTIVE = frozenset(
    {
        RDF.type,
        SH.message,
        SH.severity,
        SH.name,
        SH.description,
        SH.order,
        SH.group,
        SH.deactivated,  # a deactivated shape is screened anyway, which is only more conservative
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        SH.targetClass,
        SH.targetSubjectsOf,
        SH.targetObjectsOf,
        SH.targetNode,
        SH.path,
    }
)
_TARGETS = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
_SELECT = re.compile(
    r"^\s*SELECT\s+(DISTINCT\s+)?[$?]this(\s+[$?]\w+)*\s+WHERE\s*\{(?P<body>.*)\}\s*$", re.IGNORECASE | re.DOTALL
)
_PRE_BOUND = re.compile(r"[$?](currentShape|shapesGraph|PATH|ipkg\w*)\b")


class Unsupported(Exception):
    """A construct the screen does not compile; the shape's cases then all go to pySHACL."""


def _iri(term: Node) -> str:
    if not isinstance(term, URIRef):
        raise Unsupported(f"not an IRI: {term!r}")
    return f"<{term}>"


def _term(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        lexical = json.dumps(str(term))
        if term.language:
            return f"{lexical}@{term.language}"
        return f"{lexical}^^<{term.datatype or XSD.string}>"
    raise Unsupported(f"a blank node in a constraint: {term!r}")


class _Compiler:
    """Turns a shape into a SPARQL condition that holds only when the node certainly conforms."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.counter = itertools.count(1)
        self.prefixes: dict[str, str] = {}

    def var(self) -> str:
        return f"?ipkgV{next(self.counter)}"

    def one(self, shape: Node, prop: URIRef) -> Node:
        values = list(self.shapes.objects(shape, prop))
        if len(values) != 1:
            raise Unsupported(f"{shape} has {len(values)} values of {prop}")
        return values[0]

    def items(self, head: Node) -> list[Node]:
        return list(Collection(self.shapes, head))

    # -- one node against a shape ------------------------------------------------------------

    def conforms(self, shape: Node, v: str) -> str:
        """The condition under which the node ``v`` conforms to ``shape`` (a node or property shape)."""
        if (shape, SH.path, None) in self.shapes:
            return self.property(shape, v)
        parts = ["true"]
        for prop, value in sorted(self.shapes.predicate_objects(shape), key=lambda pv: (str(pv[0]), str(pv[1]))):
            if prop in _DESCRIPTIVE:
                continue
            if prop == SH.property:
                parts.append(self.property(value, v))
            elif prop == SH.sparql:
                parts.append(self.sparql(value, v))
            else:
                parts.append(self.value(prop, value, shape, v))
        return "(" + " && ".join(parts) + ")"

    def value(self, prop: Node, value: Node, shape: Node, v: str) -> str:
        """A constraint on the value node ``v`` itself."""
        if prop == SH.datatype:
            return self.datatype(value, v)
        if prop == SH.nodeKind:
            if value not in _NODE_KINDS:
                raise Unsupported(f"node kind {value}")
            return _NODE_KINDS[value].format(v=v)
        if prop == SH["class"]:
            return f"(!isLiteral({v}) && EXISTS {{ {v} <{RDF.type}>/<{RDFS.subClassOf}>* {_iri(value)} }})"
        if prop == SH["in"]:
            members = [f"sameTerm({v}, {_term(m)})" for m in self.items(value)]
            return "(" + (" || ".join(members) or "false") + ")"
        if prop == SH.pattern:
            if (shape, SH.flags, None) in self.shapes or not isinstance(value, Literal):
                raise Unsupported("sh:pattern with flags")
            return f"(!isBlank({v}) && REGEX(STR({v}), {json.dumps(str(value))}))"
        if prop in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
            return self.bound(prop, value, v)
        if prop == SH["or"]:
            return "(" + (" || ".join(self.conforms(item, v) for item in self.items(value)) or "false") + ")"
        raise Unsupported(f"constraint {prop}")

    def datatype(self, datatype: Node, v: str) -> str:
        if datatype == XSD.string:
            return f"(isLiteral({v}) && sameTerm(DATATYPE({v}), <{XSD.string}>))"
        if not isinstance(datatype, URIRef) or datatype not in _LEXICAL:
            raise Unsupported(f"datatype {datatype}")
        return f"(isLiteral({v}) && sameTerm(DATATYPE({v}), <{datatype}>) && REGEX(STR({v}), {json.dumps(_LEXICAL[datatype])}))"

    def comparable(self, v: str, like: Literal) -> str:
        """``v`` is a literal of plain lexical form whose value compares with ``like`` as pySHACL compares it."""
        if like.datatype is None or like.datatype not in _LEXICAL:
            raise Unsupported(f"a bound of datatype {like.datatype}")
        kinds = _NUMERIC if like.datatype in _NUMERIC else (like.datatype,)
        return "(" + " || ".join(self.datatype(kind, v) for kind in kinds) + ")"

    def bound(self, prop: Node, limit: Node, v: str) -> str:
        if not isinstance(limit, Literal):
            raise Unsupported("a range bound that is not a literal")
        operator = _OPERATORS[prop]
        return f"({self.comparable(v, limit)} && {v} {operator} {_term(limit)})"

    # -- property shapes ---------------------------------------------------------------------

    def property(self, shape: Node, x: str) -> str:
        path = self.one(shape, SH.path)
        p = _iri(path)
        parts = ["true"]
        for prop, value in sorted(self.shapes.predicate_objects(shape), key=lambda pv: (str(pv[0]), str(pv[1]))):
            if prop in _DESCRIPTIVE:
                continue
            if prop in (SH.minCount, SH.maxCount):
                parts.append(self.count(prop, value, x, p))
            elif prop == SH.lessThanOrEquals:
                a, b = self.var(), self.var()
                dates = f"({self.datatype(XSD.date, a)} && {self.datatype(XSD.date, b)})"
                numbers = f"({self.comparable(a, Literal(0))} && {self.comparable(b, Literal(0))})"
                both = f"({dates} || {numbers})"
                pair = f"{x} {p} {a} . {x} {_iri(value)} {b}"
                parts.append(f"NOT EXISTS {{ {pair} FILTER (!COALESCE({both} && {a} <= {b}, false)) }}")
            elif prop in (SH.property, SH.sparql, SH.node, SH.qualifiedValueShape):
                raise Unsupported(f"{prop} in a property shape")
            else:
                w = self.var()
                parts.append(f"NOT EXISTS {{ {x} {p} {w} FILTER (!COALESCE({self.value(prop, value, shape, w)}, false)) }}")
        return "(" + " && ".join(parts) + ")"

    def count(self, prop: Node, value: Node, x: str, p: str) -> str:
        if not isinstance(value, Literal) or not isinstance(value.toPython(), int):
            raise Unsupported(f"{prop} {value}")
        n = int(value.toPython())
        a, b = self.var(), self.var()
        if prop == SH.minCount:
            if n == 0:
                return "true"
            if n == 1:
                return f"EXISTS {{ {x} {p} {a} }}"
        elif n == 0:
            return f"NOT EXISTS {{ {x} {p} {a} }}"
        elif n == 1:
            return f"NOT EXISTS {{ {x} {p} {a}, {b} FILTER (!sameTerm({a}, {b})) }}"
        raise Unsupported(f"{prop} {n}")

    # -- SHACL-SPARQL constraints ------------------------------------------------------------

    def sparql(self, constraint: Node, v: str) -> str:
        """No solution of the constraint's SELECT for this node: its WHERE pattern, with ``$this``
        bound by the enclosing query and STR() answering as rdflib does on blank nodes."""
        select = self.one(constraint, SH.select)
        match = _SELECT.match(str(select))
        if match is None or _PRE_BOUND.search(str(select)) or v != "?this":
            raise Unsupported("a SPARQL constraint other than SELECT $this ... WHERE { ... }")
        for declarations in self.shapes.objects(constraint, SH.prefixes):
            for declaration in self.shapes.objects(declarations, SH.declare):
                prefix = str(self.one(declaration, SH.prefix))
                namespace = str(self.one(declaration, SH.namespace))
                if self.prefixes.setdefault(prefix, namespace) != namespace:
                    raise Unsupported(f"prefix {prefix} declared twice")
        return f"NOT EXISTS {{ {with_rdflib_str(match.group('body'))} }}"


@dataclass(frozen=True)
class FormScreen:
    """The screen of a version of the case-form shapes: one query per shape, or incomplete."""

    queries: tuple[str, ...]
    incomplete: tuple[str, ...]  # the shapes the screen cannot compile (then every case goes to pySHACL)


def _targets(shapes: Graph, shape: Node) -> str:
    groups = []
    for cls in sorted(shapes.objects(shape, SH.targetClass), key=str):
        groups.append(f"{{ ?this <{RDF.type}>/<{RDFS.subClassOf}>* {_iri(cls)} }}")
    for prop in sorted(shapes.objects(shape, SH.targetSubjectsOf), key=str):
        groups.append(f"{{ ?this {_iri(prop)} ?ipkgAny }}")
    for prop in sorted(shapes.objects(shape, SH.targetObjectsOf), key=str):
        groups.append(f"{{ ?ipkgAny {_iri(prop)} ?this }}")
    for node in sorted(shapes.objects(shape, SH.targetNode), key=str):
        groups.append(f"{{ VALUES ?this {{ {_term(node)} }} }}")
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, SH.target, None) in shapes:
        raise Unsupported("an implicit class target or a SPARQL-based target")
    return " UNION ".join(groups)


def _shapes_with_targets(shapes: Graph) -> list[Node]:
    found = {s for prop in (*_TARGETS, SH.target) for s in shapes.subjects(prop, None)}
    found |= {s for s in shapes.subjects(RDF.type, RDFS.Class) if (s, RDF.type, SH.NodeShape) in shapes}
    return sorted(found, key=str)


def compile_screen(shapes: Graph) -> FormScreen:
    queries: list[str] = []
    incomplete: list[str] = []
    for shape in _shapes_with_targets(shapes):
        compiler = _Compiler(shapes)
        try:
            targets = _targets(shapes, shape)
            condition = compiler.conforms(shape, "?this")
        except Unsupported as exc:
            incomplete.append(f"{shape}: {exc}")
            continue
        prefixes = "".join(f"PREFIX {k}: <{ns}>\n" for k, ns in sorted(compiler.prefixes.items()))
        queries.append(
            f"{prefixes}SELECT DISTINCT ?{CASE_GRAPH} WHERE {{ GRAPH ?{CASE_GRAPH} {{ {targets} "
            f"FILTER (!COALESCE({condition}, false)) }} }}"
        )
    return FormScreen(tuple(queries), tuple(incomplete))


_SCREENS: dict[int, tuple[Knowledge, FormScreen]] = {}


def form_screen(knowledge: Knowledge) -> FormScreen:
    """The screen of the knowledge's case-form shapes, compiled once per loaded knowledge."""
    cached = _SCREENS.get(id(knowledge))
    if cached is None or cached[0] is not knowledge:
        cached = _SCREENS[id(knowledge)] = (knowledge, compile_screen(knowledge.form_shapes))
    return cached[1]


def cases_to_check(graphs: Sequence[Graph], knowledge: Knowledge) -> set[int]:
    """The indexes of the cases that might fail a case-form shape (every case when the screen is
    incomplete); the other cases certainly conform to every case-form shape."""
    screen = form_screen(knowledge)
    if screen.incomplete:
        return set(range(len(graphs)))
    store = ox.Store()
    labels: dict[str, str] = {}
    names: dict[str, int] = {}
    quads: list[ox.Quad] = []
    flagged: set[int] = set()
    for index, graph in enumerate(graphs):
        view = oxigraph_triples(graph)  # the case's quads, also loaded by the validator (kb.batch.casegraph)
        if view is None:
            flagged.add(index)  # the store would read a literal back in another form (kb.batch.literals)
            continue
        assert isinstance(view.graph, ox.NamedNode)
        names[view.graph.value] = index
        for blank, node in view.blanks.items():
            labels[blank] = str(node)
        quads.extend(view.quads)
    store.extend(quads)

    def rdflib_str(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.Literal:
        if isinstance(term, ox.BlankNode):
            return ox.Literal(labels.get(term.value, term.value))
        return ox.Literal(term.value)

    functions: dict[ox.NamedNode, Callable[..., ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None]] = {
        _RDFLIB_STR: rdflib_str
    }
    for query in screen.queries:
        solutions = store.query(query, custom_functions=functions)
        assert isinstance(solutions, ox.QuerySolutions)
        for solution in solutions:
            graph_name = solution[CASE_GRAPH]
            assert isinstance(graph_name, ox.NamedNode)
            flagged.add(names[graph_name.value])
        del solutions  # dropped on this thread (Oxigraph's query solutions are bound to it)
    return flagged


def check_forms(items: Sequence[tuple[Graph, str]], knowledge: Knowledge) -> list[URIRef | Exception]:
    """``kb.pipeline.caseform.check_case_form`` of each (case, source), in order: the request node,
    or the error it raises. pySHACL checks the case-form shapes only for the cases the screen flags."""
    try:
        flagged = cases_to_check([graph for graph, _ in items], knowledge)
    except Exception:  # the screen never decides alone: without it every case is checked by pySHACL
        flagged = set(range(len(items)))
    results: list[URIRef | Exception] = []
    for index, (graph, source) in enumerate(items):
        try:
            results.append(check_case_form(graph, knowledge, source, form_shapes_conform=index not in flagged))
        except Exception as exc:  # the caller reports it with the case's source
            results.append(exc)
        collect_young_if_due()
    return results
