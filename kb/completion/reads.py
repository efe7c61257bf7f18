"""Which ontology terms a criterion reads: the terms its shape's SPARQL names, and the case terms
the derived properties it reads are computed from.

The derivation sources are a static reading of ``kb/**/*.py`` (the engine's modules; the completion,
questionnaire and counterfactual packages derive nothing and are not read).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import URIRef
from rdflib.term import Node

from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP, SH

KB_DIR = Path(__file__).resolve().parents[1]
NOT_ENGINE = ("completion", "questionnaire", "counterfactual")
WRITES = {"add", "set"}  # the graph and enricher methods that record a fact


def shape_queries(knowledge: Knowledge, criterion: CriterionInfo) -> list[str]:
    """The SPARQL text of each of the shape's constraints (its SELECT or ASK)."""
    texts = []
    for constraint in knowledge.shapes.objects(criterion.shape, SH.sparql):
        for prop in (SH.select, SH.ask):
            value = knowledge.shapes.value(constraint, prop)
            if value is not None:
                texts.append(str(value))
    return texts


def shape_text(knowledge: Knowledge, criterion: CriterionInfo) -> str:
    return "\n".join(shape_queries(knowledge, criterion))


def named_terms(knowledge: Knowledge, criterion: CriterionInfo) -> set[URIRef]:
    """The ``ip:`` terms the shape's SPARQL names."""
    return {URIRef(str(IP) + name) for name in re.findall(r"\bip:(\w+)", shape_text(knowledge, criterion))}


def terms_read(knowledge: Knowledge, criterion: CriterionInfo, direct: bool = False) -> set[URIRef]:
    """The terms the shape names, and the case terms its derived facts are computed from (with
    ``direct``, as ``derivation_sources`` reads them for the questionnaires)."""
    named = named_terms(knowledge, criterion)
    sources = derivation_sources(frozenset(knowledge.ontology.subjects(IP.derivedBy, None)), direct)
    read = set(named)
    pending = [t for t in named if t in sources]
    while pending:
        term = pending.pop()
        for source in sources.get(term, ()):
            if source not in read:
                read.add(source)
                pending.append(source)
    return read


@dataclass(frozen=True)
class _Function:
    """What the static reading keeps of one engine function."""

    names: frozenset[URIRef]  # the IP terms its body names
    calls: frozenset[tuple[str, str]]  # the kb functions it calls, resolved through the imports
    local_calls: frozenset[str]  # the names it calls (``f(...)``, ``x.f(...)``) of functions of its own module
    writes: frozenset[URIRef]  # the IP terms it records (``.add(IP.x, ...)``, ``.set(...)``)


@cache
def _engine_functions() -> dict[tuple[str, str], _Function]:
    """The functions of kb/**/*.py by (module, name); functions of one name in a module are read as one.

    A call ``f(...)`` is resolved to ``f`` of the same module or the kb module it is imported from;
    ``module.f(...)`` to ``f`` of that imported kb module (``import kb.x.module`` or
    ``from kb.x import module``); ``self.f(...)`` to the same module.
    """
    functions: dict[tuple[str, str], _Function] = {}
    for path in sorted(KB_DIR.rglob("*.py")):
        if path.relative_to(KB_DIR).parts[0] in NOT_ENGINE:
            continue
        module = path.stem
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
        imported: dict[str, tuple[str, str] | str] = {}  # a name: (module, function), or a module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kb"):
                package = KB_DIR.parent.joinpath(*node.module.split("."))
                for alias in node.names:
                    if (package / f"{alias.name}.py").is_file():  # `from kb.guidelines import devices`: a module
                        imported[alias.asname or alias.name] = alias.name
                    else:
                        imported[alias.asname or alias.name] = (node.module.rsplit(".", 1)[-1], alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("kb."):
                        imported[alias.asname or alias.name.rsplit(".", 1)[-1]] = alias.name.rsplit(".", 1)[-1]
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = {_ip(node) for node in ast.walk(function) if _is_ip(node)}
            calls: set[tuple[str, str]] = set()
            local_calls: set[str] = set()
            writes: set[URIRef] = set()
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                if isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
                    writes.update(_ip(n) for arg in node.args for n in ast.walk(arg) if _is_ip(n))
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if called in defined:
                    local_calls.add(called)
                if isinstance(node.func, ast.Name):
                    name = node.func.id
                    if name in defined:
                        calls.add((module, name))
                    elif isinstance(imported.get(name), tuple):
                        target = imported[name]
                        assert isinstance(target, tuple)
                        calls.add(target)
                elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                    owner = node.func.value.id
                    if owner == "self" and node.func.attr in defined:
                        calls.add((module, node.func.attr))
                    elif isinstance(imported.get(owner), str):
                        calls.add((str(imported[owner]), node.func.attr))
            previous = functions.get((module, function.name))
            if previous is not None:
                names |= previous.names
                calls |= previous.calls
                local_calls |= previous.local_calls
                writes |= previous.writes
            functions[(module, function.name)] = _Function(
                frozenset(names), frozenset(calls), frozenset(local_calls), frozenset(writes)
            )
    return functions


def _is_ip(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "IP"


def _ip(node: ast.AST) -> URIRef:
    assert isinstance(node, ast.Attribute)
    return URIRef(str(IP) + node.attr)


@cache
def derivation_sources(derived: frozenset[Node], direct: bool = False) -> dict[URIRef, frozenset[URIRef]]:
    """For each derived property, the terms read by the engine functions that compute it.

    A static reading of kb/**/*.py: every function that writes a derived property (``IP.x`` in its
    body) is taken to compute it from every other ``IP.y`` term its body names, and from the terms of
    the kb functions it calls, directly or through further calls (a helper that reads the episodes'
    dates), except callees that write derived properties themselves (``.add(IP.x, ...)``): their
    terms reach the criteria that read what they derive, not every caller.

    With ``direct`` (the questionnaires' reading, which over-approximates what to ask), only the
    functions of the same module it calls directly, whatever they write (a driver that calls every
    step reads nothing itself).
    """
    functions = _engine_functions()

    @cache
    def reach(key: tuple[str, str]) -> frozenset[URIRef]:
        if direct:
            module, name = key
            terms = set(functions[key].names)
            for callee in functions[key].local_calls - {name}:
                terms |= functions[(module, callee)].names
            return frozenset(terms)
        terms = set()
        seen = {key}
        pending = [key]
        while pending:
            function = functions[pending.pop()]
            terms |= function.names
            for target in function.calls:
                if target in functions and target not in seen and not functions[target].writes & derived:
                    seen.add(target)
                    pending.append(target)
        return frozenset(terms)

    sources: dict[URIRef, set[URIRef]] = {}
    for key, function in functions.items():
        for term in function.names & derived:
            assert isinstance(term, URIRef)
            sources.setdefault(term, set()).update(reach(key) - {term})
    return {k: frozenset(v) for k, v in sources.items()}
