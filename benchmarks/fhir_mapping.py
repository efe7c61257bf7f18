"""Time reading and mapping every bundle of examples/fhir/ (no determination): python -m benchmarks.fhir_mapping."""

from __future__ import annotations

import sys
import time

from kb.fhir.bundle import read_bundle
from kb.fhir.mapper import map_bundle
from kb.knowledge import load_knowledge
from kb.resources import examples_dir

ROUNDS = 3


def main() -> int:
    knowledge = load_knowledge()
    bodies = [p.read_bytes() for p in sorted((examples_dir() / "fhir").glob("*.json"))]
    map_bundle(read_bundle(bodies[0], 32), knowledge)
    best = float("inf")
    triples = 0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        triples = sum(len(map_bundle(read_bundle(body, 32), knowledge).graph) for body in bodies)
        best = min(best, time.perf_counter() - started)
    size = sum(len(b) for b in bodies) / len(bodies) / 1024
    print(
        f"{len(bodies)} bundles ({size:.1f} KiB, {triples / len(bodies):.0f} case triples on average): "
        f"read and mapped in {best:.2f} s, {1000 * best / len(bodies):.1f} ms per bundle (best of {ROUNDS})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
