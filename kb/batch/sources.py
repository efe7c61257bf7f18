"""Where a batch reads its cases: files, directories, JSON-lines and N-Quads streams, the store.

Every source yields ``CaseInput`` items lazily, so a batch never holds more than its chunks in
memory. A case that cannot even be read (an unreadable file, a JSON line that is not JSON, N-Quads
statements of one case that are not contiguous) is yielded as an input that fails with that reason,
named by its source, and the batch goes on.

- ``.ttl``/``.turtle``/``.nt`` files: one Turtle case each; ``.jsonld``/``.json``: one JSON-LD case.
- A directory: every such file below it, in name order.
- ``.jsonl`` (JSON-lines): one JSON-LD case document per line; the source is ``FILE:LINE``.
- ``.nq`` (N-Quads): one case per named graph, its statements contiguous; the source is the graph
  name. Statements in the default graph are refused.
- The store: every stored case graph (``kb.store_layout.case_graph``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from rdflib import Graph

from kb.batch.parsing import FAILED, NQUADS, CaseInput
from kb.pipeline.caseio import JSONLD, TURTLE
from kb.store.base import Store
from kb.store.terms import to_rdflib
from kb.store_layout import GRAPH

_FILE_FORMATS = {".ttl": TURTLE, ".turtle": TURTLE, ".nt": TURTLE, ".jsonld": JSONLD, ".json": JSONLD}
_STREAM_SUFFIXES = (".jsonl", ".nq")
_GRAPH_NAME = re.compile(r"(<[^<>\s]*>|_:\S+)\s*\.\s*(#.*)?$")


def failed(source: str, reason: str) -> CaseInput:
    return CaseInput(source=source, fmt=FAILED, data=reason)


def _file(path: Path) -> Iterator[CaseInput]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from jsonl_cases(path)
        return
    if suffix == ".nq":
        yield from nquads_cases(path)
        return
    fmt = _FILE_FORMATS.get(suffix)
    if fmt is None:
        yield failed(str(path), f"unknown file type {path.suffix!r}: use .ttl, .nt, .jsonld, .jsonl or .nq")
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield failed(str(path), f"cannot read the file: {exc.strerror}")
        return
    yield CaseInput(source=str(path), fmt=fmt, data=data)


def path_cases(paths: Iterable[Path]) -> Iterator[CaseInput]:
    """The cases of files and directories (a directory: every case file below it, in name order)."""
    for path in paths:
        if path.is_dir():
            suffixes = set(_FILE_FORMATS) | set(_STREAM_SUFFIXES)
            for child in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes):
                yield from _file(child)
        elif path.exists():
            yield from _file(path)
        else:
            yield failed(str(path), "no such file or directory")


def jsonl_cases(path: Path) -> Iterator[CaseInput]:
    """One JSON-LD case per non-empty line."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield failed(str(path), f"cannot read the file: {exc.strerror}")
        return
    with handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield CaseInput(source=f"{path}:{number}", fmt=JSONLD, data=line)


def _nquads_case(name: str, lines: list[bytes], first_line: int) -> CaseInput:
    """The case's statements as N-Quads text: parsed where the case is decided (a Dask worker), so
    the reading process only cuts the stream (``kb.batch.parsing``)."""
    return CaseInput(source=name, fmt=NQUADS, data=b"".join(lines), line=first_line)


def nquads_cases(path: Path) -> Iterator[CaseInput]:
    """One case per named graph; a graph's statements must be contiguous."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield failed(str(path), f"cannot read the file: {exc.strerror}")
        return
    seen: set[str] = set()
    current: str | None = None
    lines: list[bytes] = []
    first = 0
    with handle:
        for number, raw in enumerate(handle, 1):
            text = raw.decode("utf-8", "replace").strip()
            if not text or text.startswith("#"):
                continue
            match = _GRAPH_NAME.search(text)
            terms = text.split()
            name = match.group(1) if match and len(terms) >= 5 else None
            if name is None:
                yield failed(f"{path}:{number}", "an N-Quads statement outside a named graph (each case is one named graph)")
                continue
            if name != current:
                if current is not None:
                    yield _nquads_case(current, lines, first)
                if name in seen:
                    yield failed(name, f"the statements of this case are not contiguous (again at line {number})")
                    current, lines = None, []
                    continue
                seen.add(name)
                current, lines, first = name, [], number
            lines.append(raw if raw.endswith(b"\n") else raw + b"\n")
    if current is not None:
        yield _nquads_case(current, lines, first)


def store_cases(store: Store) -> Iterator[CaseInput]:
    """Every case stored in the repository's layout, as N-Triples text, named by its case graph."""
    prefix = f"{GRAPH}case/"
    for name in store.graph_names(prefix):
        triples = store.graph(name)
        if triples is None:
            continue
        graph = Graph()
        for s, p, o in triples:
            graph.add((to_rdflib(s), to_rdflib(p), to_rdflib(o)))
        yield CaseInput(source=name, fmt=TURTLE, data=graph.serialize(format="nt"))
