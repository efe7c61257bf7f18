"""``ipkg batch`` and ``ipkg replay``: many cases at once, and the impact of another guideline version.

Exit codes as ``ipkg determine``: 0 when every case was decided, 3 when at least one case failed
(each failure is in the output with its source), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from kb.batch.parsing import TRIPLES, CaseInput

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_FAILED_CASES = 3


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", type=Path, help="case files, directories, .jsonl or .nq streams")
    parser.add_argument("--store-path", type=Path, help="also the cases stored in this embedded store (no service writing it)")
    parser.add_argument("--chunk", type=int, default=500, help="cases per chunk (default 500)")
    parser.add_argument("--workers", type=int, default=None, help="local Dask workers (default: the cores; 0: in this process)")
    parser.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:port) instead of a local cluster")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    batch = sub.add_parser("batch", help="decide many cases in chunks (set-based validation, Dask)")
    _add_inputs(batch)
    batch.add_argument("--jsonl", type=Path, help="write each case's determination (or error) as a JSON line here")
    batch.add_argument("--nquads", type=Path, help="write each determination as N-Quads (one named graph each) here")
    batch.add_argument("--reports", action="store_true", help="with --nquads, add each SHACL report in <determination>/report")
    batch.add_argument("--to-store", type=Path, help="store cases and determinations in this embedded store directory")
    batch.add_argument("--validator", choices=("set", "pyshacl"), default="set", help="criterion validation (default: set)")
    batch.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar (default: on a tty)")
    rep = sub.add_parser("replay", help="re-decide cases under another ontology/shapes version and list what changes")
    _add_inputs(rep)
    against = rep.add_mutually_exclusive_group(required=True)
    against.add_argument("--candidate-dir", type=Path, help="a directory holding the candidate's ontology/ and shapes/")
    against.add_argument("--candidate-rev", help="a git revision of this repository holding the candidate")
    rep.add_argument("--baseline-rev", help="a git revision for the baseline (default: this version's files)")
    rep.add_argument("--rdf", type=Path, help="write the changes as RDF (Turtle) here")


def _inputs(args: argparse.Namespace) -> Iterator[CaseInput]:
    from kb.batch.sources import path_cases

    yield from path_cases(args.inputs)
    if args.store_path is not None:
        yield from _store_path_cases(args.store_path)


def _store_path_cases(path: Path) -> Iterator[CaseInput]:
    """The stored cases of an embedded store directory, read from a read-only Oxigraph view."""
    import pyoxigraph as ox

    from kb.store_layout import GRAPH

    store = ox.Store.read_only(str(path))
    prefix = f"{GRAPH}case/"
    for name in sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g.value.startswith(prefix)):
        quads = store.quads_for_pattern(None, None, None, ox.NamedNode(name))
        yield CaseInput(source=name, fmt=TRIPLES, triples=[(q.subject, q.predicate, q.object) for q in quads])


def _count(paths: list[Path]) -> int | None:
    """How many cases the inputs hold, when they are case files only (streams are not counted)."""
    from kb.batch.sources import _FILE_FORMATS

    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(1 for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _FILE_FORMATS)
        elif path.suffix.lower() in _FILE_FORMATS:
            total += 1
        else:
            return None
    return total


def _output(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


def _workers(args: argparse.Namespace) -> int:
    return args.workers if args.workers is not None else (os.cpu_count() or 1)


def run_batch_command(args: argparse.Namespace) -> int:
    from kb.batch.progress import BatchProgress
    from kb.batch.runner import JsonLinesSink, NQuadsSink, Sink, run_batch

    if not args.inputs and args.store_path is None:
        print("ipkg batch: give case files, directories, streams or --store-path", file=sys.stderr)
        return EXIT_USAGE
    if args.chunk < 1:
        print("ipkg batch: --chunk must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    sinks: list[Sink] = []
    if args.jsonl is not None:
        sinks.append(JsonLinesSink(_output(args.jsonl)))
    if args.nquads is not None:
        sinks.append(NQuadsSink(_output(args.nquads)))
    if args.to_store is not None:
        from kb.batch.runner import StoreSink
        from kb.store.embedded import EmbeddedStore

        sinks.append(StoreSink(EmbeddedStore(args.to_store, workers=1, require_sandbox=False)))
    total = None if args.store_path is not None else _count(args.inputs)
    try:
        with BatchProgress(total, enabled=args.progress) as progress:
            summary = run_batch(
                _inputs(args),
                sinks,
                chunk_size=args.chunk,
                workers=_workers(args),
                scheduler=args.scheduler,
                validator=args.validator,
                rdf=args.nquads is not None,
                with_report=args.reports,
                store=args.to_store is not None,
                on_chunk=progress.chunk_done,
            )
    finally:
        for sink in sinks:
            sink.close()
    json.dump(summary.as_json(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_FAILED_CASES if summary.failed else EXIT_OK


def run_replay_command(args: argparse.Namespace) -> int:
    from kb import resources
    from kb.batch.replay import ReplayError, replay, temporary_directory, version_from_directory, version_from_git
    from kb.batch.runner import KnowledgeVersion

    if not args.inputs and args.store_path is None:
        print("ipkg replay: give case files, directories, streams or --store-path", file=sys.stderr)
        return EXIT_USAGE
    repository = resources.ontology_dir().parent
    with temporary_directory() as base_dir, temporary_directory() as cand_dir:
        try:
            baseline = (
                version_from_git(args.baseline_rev, repository, Path(base_dir)) if args.baseline_rev else KnowledgeVersion()
            )
            if args.candidate_dir is not None:
                candidate = version_from_directory(args.candidate_dir)
                candidate_name = str(args.candidate_dir)
            else:
                candidate = version_from_git(args.candidate_rev, repository, Path(cand_dir))
                candidate_name = f"git:{args.candidate_rev}"
        except ReplayError as exc:
            print(f"ipkg replay: {exc}", file=sys.stderr)
            return EXIT_USAGE
        workers = _workers(args)
        result = replay(_inputs(args), baseline, candidate, chunk_size=args.chunk, workers=workers, scheduler=args.scheduler)
    sys.stdout.write(result.table())
    if args.rdf is not None:
        baseline_name = f"git:{args.baseline_rev}" if args.baseline_rev else "this version"
        with _output(args.rdf) as handle:
            handle.write(result.rdf(baseline_name, candidate_name).serialize(format="turtle"))
    return EXIT_OK
