"""What a criterion's shape reads, from its SPARQL graph patterns: the classes of the records on which it
reads a property the ontology gives no domain (``ip:side`` of a pain assessment or of a procedure), and
the controlled values its conditions name.

The patterns are read from the parsed query (rdflib's algebra, with the patterns inside ``EXISTS`` as
the parser leaves them): a variable's class is the domain of another property read on it, the range of
the property that leads to it (the last step of a path), or a class it is typed with.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from functools import cache

from rdflib import RDF, RDFS, URIRef, Variable
from rdflib.paths import AlternativePath, Path, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from kb.completion.reads import shape_queries
from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP

PREFIXES = f"PREFIX ip: <{IP}>\nPREFIX rdf: <{RDF}>\nPREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"


def _triples(node: object) -> Iterator[tuple[Node, object, Node]]:
    if isinstance(node, CompValue):
        if node.name == "BGP":
            yield from node["triples"]
        elif node.name == "TriplesBlock":
            for block in node["triples"]:
                for i in range(0, len(block) - 2, 3):
                    yield block[i], block[i + 1], block[i + 2]
        for value in dict.values(node):
            yield from _triples(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _triples(value)


def _last_steps(path: object) -> list[URIRef]:
    if isinstance(path, URIRef):
        return [path]
    if isinstance(path, SequencePath):
        return _last_steps(path.args[-1])
    if isinstance(path, AlternativePath):
        return [step for arg in path.args for step in _last_steps(arg)]
    return []


@cache
def _patterns(knowledge: Knowledge, criterion: CriterionInfo) -> tuple[tuple[Node, object, Node], ...]:
    found: list[tuple[Node, object, Node]] = []
    for text in shape_queries(knowledge, criterion):
        try:
            query = prepareQuery(PREFIXES + text)
        except Exception:  # a query rdflib cannot parse reads nothing here (pySHACL parses the shapes)
            continue
        found.extend(_triples(query.algebra))
    return tuple(found)


def record_classes(knowledge: Knowledge, criterion: CriterionInfo) -> dict[URIRef, frozenset[URIRef]]:
    """For each property without a declared domain that the shape reads on a variable, the classes that
    variable is known to have (from the other patterns on it)."""
    ont = knowledge.ontology
    classes: dict[Node, set[URIRef]] = defaultdict(set)
    read_on: dict[URIRef, set[Node]] = defaultdict(set)
    for s, p, o in _patterns(knowledge, criterion):
        if isinstance(p, URIRef) and not isinstance(p, Path):
            if p == RDF.type and isinstance(o, URIRef):
                classes[s].add(o)
                continue
            domain = ont.value(p, RDFS.domain)
            if isinstance(domain, URIRef):
                classes[s].add(domain)
            elif isinstance(s, Variable):
                read_on[p].add(s)
        for step in _last_steps(p):
            rng = ont.value(step, RDFS.range)
            if isinstance(rng, URIRef) and isinstance(o, Variable):
                classes[o].add(rng)
    result: dict[URIRef, frozenset[URIRef]] = {}
    for prop, variables in read_on.items():
        found = frozenset(c for v in variables for c in classes.get(v, ()))
        if found:
            result[prop] = found
    return result


def named_values(knowledge: Knowledge, criterion: CriterionInfo) -> frozenset[URIRef]:
    """The ``ip:`` terms the shape's conditions name (``FILTER (?s IN (ip:UpperExtremity, ...))``)."""
    texts = shape_queries(knowledge, criterion)
    return frozenset(URIRef(str(IP) + name) for text in texts for name in re.findall(r"\bip:(\w+)", text))


def named_first(values: tuple[Node, ...], named: frozenset[URIRef]) -> tuple[Node, ...]:
    """The values the conditions name first, in their order; the others after them."""
    return tuple(sorted(values, key=lambda v: v not in named))
