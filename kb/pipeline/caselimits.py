"""Size limits of case data, checked cheaply before parsing and again on the parsed graph.

Before a parser sees the text, a linear scan measures how deeply brackets nest (Turtle ``[ ]`` and
``( )``, JSON ``{ }`` and ``[ ]``), skipping strings, IRIs and comments, so that no parser recurses
past the limit. While parsing, the graph refuses more than ``max_triples`` triples, so a huge case
stops early. After parsing, RDF lists longer than ``max_list_length`` are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rdflib import Graph
from rdflib.term import Node

from kb.errors import CaseSyntaxError
from kb.namespaces import RDF


@dataclass(frozen=True)
class CaseLimits:
    """The largest case the engine accepts. The service reads them from its settings."""

    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 32
    max_triples: int = 10_000
    max_list_length: int = 1_000


DEFAULT_LIMITS = CaseLimits()

# A Turtle token that may hold brackets which are not structure: long and short strings, IRIs,
# comments. A string the scan cannot close is not skipped, so its brackets are counted: the scan can
# over-count the nesting, never under-count it.
_TURTLE_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)'
    r"|'''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"
    r"|#[^\n\r]*"
    r"|[\[\](){}]"
    r"|[^\s\[\](){}<>\"'#,;.]+",
    re.S,
)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_OPENING = frozenset("[({")
_CLOSING = frozenset("])}")


@dataclass(frozen=True)
class Scan:
    depth: int
    """How deeply brackets nest (an upper bound)."""
    terms: int
    """Tokens that are not brackets or comments: IRIs, names, literals, keywords."""


def _scan(tokens: Iterator[re.Match[str]]) -> Scan:
    depth = deepest = terms = 0
    for match in tokens:
        token = match.group()
        if token in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        elif token in _CLOSING:
            depth = max(depth - 1, 0)
        elif not token.startswith("#"):
            terms += 1
    return Scan(deepest, terms)


def scan_turtle(text: str) -> Scan:
    return _scan(_TURTLE_TOKENS.finditer(text))


def turtle_nesting(text: str) -> int:
    """How deeply ``[ ]``, ``( )`` and ``{ }`` nest in Turtle text (an upper bound)."""
    return scan_turtle(text).depth


def json_nesting(text: str) -> int:
    """How deeply objects and arrays nest in JSON text (an upper bound)."""
    return _scan(_JSON_TOKENS.finditer(text)).depth


TERMS_PER_TRIPLE = 4
"""A Turtle text may hold this many terms per allowed triple (a statement needs at most three, plus
prefix declarations): more is refused before parsing, since a list's items are all read before its
first triple is made."""


def check_terms(scan: Scan, limits: CaseLimits, source: str) -> None:
    allowed = TERMS_PER_TRIPLE * limits.max_triples
    if scan.terms > allowed:
        raise CaseSyntaxError(
            source,
            f"the case holds {scan.terms} terms; at most {allowed} are accepted "
            f"({TERMS_PER_TRIPLE} per triple of the limit of {limits.max_triples} triples)",
        )


def check_nesting(depth: int, limits: CaseLimits, source: str, what: str) -> None:
    if depth > limits.max_depth:
        raise CaseSyntaxError(source, f"{what} nest {depth} deep; the limit is {limits.max_depth}")


def count_json_values(document: Any) -> int:
    """The number of values (objects, arrays and scalars) of a parsed JSON document, without recursion."""
    count = 0
    stack = [document]
    while stack:
        value = stack.pop()
        count += 1
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return count


class TooManyTriplesError(Exception):
    """Raised by a BoundedGraph when a parser adds one triple too many."""


class BoundedGraph(Graph):
    """A graph that refuses to grow past a number of triples, so a parser stops early."""

    def __init__(self, max_triples: int) -> None:
        super().__init__()
        self.max_triples = max_triples

    def add(self, triple: tuple[Node, Node, Node]) -> BoundedGraph:
        super().add(triple)
        if len(self) > self.max_triples:
            raise TooManyTriplesError
        return self


def too_many_triples(limits: CaseLimits, source: str) -> CaseSyntaxError:
    return CaseSyntaxError(source, f"the case holds more than {limits.max_triples} triples; that is the limit")


def check_lists(graph: Graph, limits: CaseLimits, source: str) -> None:
    """Refuse RDF lists longer than the limit (each list is walked once, cycles included)."""
    rests = set(graph.objects(None, RDF.rest))
    for head in set(graph.subjects(RDF.first, None)):
        if head in rests:
            continue
        length = 0
        seen: set[Node] = set()
        node: Node | None = head
        while node is not None and node != RDF.nil and node not in seen:
            seen.add(node)
            length += 1
            if length > limits.max_list_length:
                raise CaseSyntaxError(
                    source, f"an RDF list holds more than {limits.max_list_length} items; that is the limit"
                )
            node = graph.value(node, RDF.rest)
