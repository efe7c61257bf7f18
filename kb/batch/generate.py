"""Generated cases of all eight guidelines, for benchmarks and the differential test.

Each generated case is a variant of a seed case: the example cases (``examples/cases``) and the
per-criterion fixtures (``tests/criteria``), which between them cover every guideline, phase and
outcome. A variant gets case IRIs of its own (``case:g<n>-...``), every date moved by the same
number of days (so the intervals a criterion reads stay as the seed has them, unless a value is also
varied), and, for one variant in two, pain scores and relief percentages moved within their ranges,
which changes outcomes. Variants are written as N-Quads, one named graph per case (the graph name is
the case's source name), or as N-Triples text per case.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import XSD, BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.term import Node

from kb import resources
from kb.namespaces import CASE, IP
from kb.pipeline.caseio import read_case_file

_JITTER: dict[Node, tuple[int, int, int]] = {IP.painScore: (0, 10, 2), IP.reliefPercent: (0, 100, 20)}


@dataclass(frozen=True)
class Seed:
    name: str
    triples: tuple[tuple[Node, Node, Node], ...]


def seed_files(root: Path | None = None) -> list[Path]:
    """The example cases and the per-criterion fixtures (relative to the repository root)."""
    base = root or resources.examples_dir().parent
    examples = sorted((base / "examples" / "cases").glob("*.ttl")) + sorted((base / "examples" / "cases").glob("*.jsonld"))
    fixtures = sorted((base / "tests" / "criteria").glob("*/*.ttl"))
    return examples + fixtures


def load_seeds(paths: list[Path]) -> list[Seed]:
    """The seed cases, with their blank nodes labelled canonically: rdflib's parser labels them at
    random, and the seed's triple order (which decides where the random draws go) must be the same
    in every process for a seed number to give the same cases."""
    seeds = []
    for path in paths:
        graph = to_canonical_graph(read_case_file(path))
        seeds.append(Seed(path.stem, tuple(sorted(graph, key=lambda t: (str(t[0]), str(t[1]), str(t[2]))))))
    return seeds


def _rename(term: Node, prefix: str) -> Node:
    if isinstance(term, URIRef) and str(term).startswith(str(CASE)):
        return URIRef(f"{CASE}{prefix}{str(term)[len(CASE):]}")
    if isinstance(term, BNode):
        # N-Quads blank node labels are shared by the whole document: each variant gets its own.
        return BNode(f"{prefix.replace('-', 'x')}{term}")
    return term


def _shift(term: Node, days: int) -> Node:
    if isinstance(term, Literal) and term.datatype == XSD.date:
        value = term.toPython()
        if isinstance(value, dt.date):
            return Literal((value + dt.timedelta(days=days)).isoformat(), datatype=XSD.date)
    return term


def variant(seed: Seed, number: int, rng: random.Random) -> Graph:
    """One variant of a seed case, with case IRIs prefixed ``g<number>-``."""
    prefix = f"g{number}-"
    days = rng.randrange(0, 240)
    jitter = rng.random() < 0.5
    graph = Graph()
    for s, p, o in seed.triples:
        o2 = _shift(o, days)
        if jitter and p in _JITTER and isinstance(o, Literal) and isinstance(o.toPython(), int):
            low, high, step = _JITTER[p]
            value = int(o.toPython()) + rng.choice((-step, 0, step))
            o2 = Literal(min(high, max(low, value)), datatype=o.datatype)
        graph.add((_rename(s, prefix), p, _rename(o2, prefix)))
    return graph


def generate(count: int, seed: int = 7, seeds: list[Seed] | None = None) -> Iterator[tuple[str, Graph]]:
    """``count`` variants, round robin over the seeds in a shuffled order (so any run of a few dozen
    covers every guideline, and a long run every outcome of every seed)."""
    rng = random.Random(seed)
    pool = list(seeds if seeds is not None else load_seeds(seed_files()))
    rng.shuffle(pool)
    for number in range(count):
        base = pool[number % len(pool)]
        yield f"gen-{number}-{base.name}", variant(base, number, rng)


def nquads_lines(name: str, graph: Graph) -> Iterator[str]:
    """The case as N-Quads lines in the named graph ``urn:ipkg:case-source:<name>``."""
    g = f"<urn:ipkg:case-source:{name}>"
    for s, p, o in graph:
        yield f"{s.n3()} {p.n3()} {o.n3()} {g} .\n"
