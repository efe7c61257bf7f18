"""Which ontology terms a criterion reads: the terms its shape's SPARQL names, and the case terms
the derived properties it reads are computed from.

The derivation sources are a static reading of ``kb/**/*.py``: every function that writes a derived
property (``IP.x`` in its body) is taken to compute it from every other ``IP.y`` term its body names.
The reading over-approximates (a function that derives several properties is taken to read every term
any of them needs); the questionnaires keep only the case properties a record of the case can hold.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from rdflib import URIRef
from rdflib.term import Node

from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP, SH

KB_DIR = Path(__file__).resolve().parents[1]


def shape_text(knowledge: Knowledge, criterion: CriterionInfo) -> str:
    texts = []
    for constraint in knowledge.shapes.objects(criterion.shape, SH.sparql):
        for prop in (SH.select, SH.ask):
            value = knowledge.shapes.value(constraint, prop)
            if value is not None:
                texts.append(str(value))
    return "\n".join(texts)


def named_terms(knowledge: Knowledge, criterion: CriterionInfo) -> set[URIRef]:
    """The ``ip:`` terms the shape's SPARQL names."""
    return {URIRef(str(IP) + name) for name in re.findall(r"\bip:(\w+)", shape_text(knowledge, criterion))}


def terms_read(knowledge: Knowledge, criterion: CriterionInfo) -> set[URIRef]:
    """The terms the shape names, and the case terms its derived facts are computed from."""
    named = named_terms(knowledge, criterion)
    sources = derivation_sources(frozenset(knowledge.ontology.subjects(IP.derivedBy, None)))
    read = set(named)
    pending = [t for t in named if t in sources]
    while pending:
        t = pending.pop()
        for source in sources.get(t, ()):
            if source not in read:
                read.add(source)
                pending.append(source)
    return read


@cache
def derivation_sources(derived: frozenset[Node]) -> dict[URIRef, frozenset[URIRef]]:
    """For each derived property, the terms read by the engine functions that compute it, with those of
    the functions of the same module they call directly."""
    sources: dict[URIRef, set[URIRef]] = {}
    for path in sorted(KB_DIR.rglob("*.py")):
        if path.parent.name in ("questionnaire", "counterfactual"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named: dict[str, set[URIRef]] = {}
        calls: dict[str, set[str]] = {}
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = named.setdefault(function.name, set())
            called = calls.setdefault(function.name, set())
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "IP":
                    names.add(URIRef(str(IP) + node.attr))
                elif isinstance(node, ast.Call):
                    target = node.func
                    if isinstance(target, ast.Attribute):
                        called.add(target.attr)
                    elif isinstance(target, ast.Name):
                        called.add(target.id)
        for name, own in named.items():
            # The helpers it calls directly (one level: a driver that calls every step reads nothing itself).
            reached = set(own)
            for callee in calls.get(name, ()):
                if callee in named and callee != name:
                    reached |= named[callee]
            for t in own & derived:
                assert isinstance(t, URIRef)
                sources.setdefault(t, set()).update(reached - {t})
    return {k: frozenset(v) for k, v in sources.items()}
