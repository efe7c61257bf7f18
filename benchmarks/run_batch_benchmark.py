"""Per-case path against the batch engine on the same generated cases, on 1 and 2 cores, with peak memory.

Usage: .venv/bin/python benchmarks/run_batch_benchmark.py [--cases 10000] [--modes per-case:1,batch:1,batch:2]
       [--chunk 500] [--seed 7] [--json]

The cases are generated once (``kb.batch.generate``: variants of the example cases and criterion
fixtures of all eight guidelines) into an N-Quads file, then each mode decides them all:

- ``per-case:N``: each case parsed by rdflib and validated by pySHACL, as ``ipkg determine`` does;
- ``batch:N``: the batch engine (Oxigraph parsing, set-based validation over each chunk);

on N cores: N=1 runs in this process, N>1 on a Dask LocalCluster of N single-threaded workers. The
peak memory is the largest summed resident memory of this process and its children, sampled every
0.2 s. Stage times are summed over the workers (wall time inside each stage).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.batch.generate import generate, nquads_lines  # noqa: E402
from kb.batch.runner import run_batch  # noqa: E402
from kb.batch.sources import nquads_cases  # noqa: E402


class MemorySampler:
    """The peak of the summed RSS of this process and its children."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_mode(stream: Path, mode: str, chunk: int) -> dict[str, Any]:
    kind, _, cores_text = mode.partition(":")
    cores = int(cores_text or "1")
    validator = "per-case" if kind == "per-case" else "set"
    with MemorySampler() as memory:
        summary = run_batch(
            nquads_cases(stream), [], chunk_size=chunk, workers=0 if cores == 1 else cores, validator=validator
        )
    figures = summary.as_json()
    figures["mode"] = mode
    figures["peak_rss_mib"] = round(memory.peak / 2**20, 1)
    figures["ms_per_case_by_stage"] = {
        k: round(1000 * v / max(1, summary.cases), 2) for k, v in summary.stage_seconds.items()
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--modes", default="per-case:1,batch:1,batch:2")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "cases.nq"
        start = time.perf_counter()
        with stream.open("w", encoding="utf-8") as handle:
            for name, graph in generate(args.cases, args.seed):
                handle.writelines(nquads_lines(name, graph))
        generated = time.perf_counter() - start
        modes: list[dict[str, Any]] = []
        results = {"cases": args.cases, "generation_seconds": round(generated, 1), "modes": modes}
        for mode in args.modes.split(","):
            figures = run_mode(stream, mode.strip(), args.chunk)
            modes.append(figures)
            if not args.json:
                print(json.dumps(figures), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
