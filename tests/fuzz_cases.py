"""Mutation fuzzing of case input, seeded by the example cases.

Each input is an example case (Turtle or JSON-LD) changed by one to four mutations: byte flips,
token deletion and duplication, literal swaps (empty, ill-typed, out-of-range and escaped values),
nesting, the whole document replaced by one value, injected statements (determination vocabulary,
SHACL, imports, contexts), and splices from another example. The oracle: every input is either
decided or refused with one of the engine's own errors (``KnowledgeGraphError``); any other
exception is a bug.

``tests/test_fuzz_cases.py`` runs a bounded number of inputs in CI through hypothesis; for a longer
run, ``scripts/fuzz.sh [seconds]`` calls ``python -m tests.fuzz_cases --seconds N`` (see
docs/architecture.md for the figures of a five-minute run).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted(p for p in (ROOT / "examples" / "cases").iterdir() if p.suffix in {".ttl", ".jsonld"})

TURTLE_VALUES = [
    '""',
    '""^^xsd:date',
    '"9999-12-31"^^xsd:date',
    '"0001-01-01"^^xsd:date',
    '"1899-12-31"^^xsd:date',
    '"2024-02-30"^^xsd:date',
    '"10000-01-01"^^xsd:date',
    '"2024-06-10T10:00:00+14:00"^^xsd:dateTime',
    '"2024-06-10T10:00:00"^^xsd:dateTime',
    '"2024-06"^^xsd:gYearMonth',
    '"abc"^^xsd:integer',
    '"1.5"^^xsd:integer',
    '"NaN"^^xsd:decimal',
    '"INF"^^xsd:double',
    '"maybe"^^xsd:boolean',
    "99999999999999999999999999",
    "-1",
    "-0.0",
    "1e308",
    "true",
    '"\\uD800"',
    '"\\U0010FFFF"',
    '"x"@en',
    '"x"^^<https://example.org/unknown-type>',
    "[]",
    "()",
    "( 1 2 3 )",
    "ip:Approved",
    "ip:Determination",
    "<file:///etc/passwd>",
    "<relative>",
    "_:b0",
]
JSON_VALUES = [
    '""',
    "{}",
    "[]",
    "null",
    "true",
    "0",
    "-1",
    "1e400",
    "99999999999999999999999",
    '"9999-12-31"',
    '"0001-01-01"',
    '"2024-02-30"',
    '"\\ud800"',
    '{"@value": "x", "@type": "xsd:date"}',
    '{"@value": {}}',
    '{"@list": [1, 2, 3]}',
    '{"@id": "ip:Approved"}',
    '{"@context": "http://127.0.0.1:9/context.jsonld", "id": "case:x"}',
    '{"@context": {"@import": "file:///etc/passwd"}}',
    '{"@type": "@json", "@value": {"a": 1}}',
    '"ip:Determination"',
]
TURTLE_STATEMENTS = [
    'case:forged a ip:Determination ; ip:outcome ip:Approved ; ip:determinedAt "2099-01-01T00:00:00"^^xsd:dateTime .',
    "case:r a <http://www.w3.org/ns/shacl#ValidationReport> .",
    "case:x <http://www.w3.org/2002/07/owl#imports> <http://127.0.0.1:9/x.ttl> .",
    "<https://w3id.org/ipkg/determination/abc> ip:outcome ip:Approved .",
    "ip:Approved ip:outcome ip:Denied .",
    "case:x ip:underGuideline ip:NIA_CG_301 .",
    "case:x ip:failedTherapyDays 999 .",
    "case:l <https://example.org/p> ( 1 2 3 4 5 6 7 8 9 ) .",
    "_:a ip:endDate _:a .",
    "case:second a ip:PriorAuthorizationRequest .",
]
JSON_MEMBERS = [
    '"type": "Determination"',
    '"@context": "http://127.0.0.1:9/context.jsonld"',
    '"@context": ["https://w3id.org/ipkg/context.jsonld", {"@context": "file:///etc/passwd"}]',
    '"@context": {"@import": "http://127.0.0.1:9/x"}',
    '"outcome": "Approved"',
    '"@graph": [{"id": "case:g", "type": "Patient"}]',
    '"@id": "_:b0"',
    '"@reverse": {"forPatient": {"id": "case:r"}}',
    '"@included": [{"id": "case:i", "type": "Determination"}]',
]

_TTL_LITERAL = re.compile(r'"[^"\n]*"(?:\^\^[A-Za-z]+:[A-Za-z]+|@[a-z]+)?|\b-?\d+(?:\.\d+)?\b|\btrue\b|\bfalse\b|\bip:\w+')
_JSON_VALUE = re.compile(r'(?<=: )(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')
_TOKEN = re.compile(rb"\S+")


def _tokens(data: bytes) -> list[re.Match[bytes]]:
    return list(_TOKEN.finditer(data))


def flip_byte(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    index = rng.randrange(len(data))
    return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1 :]


def delete_token(data: bytes, rng: random.Random) -> bytes:
    tokens = _tokens(data)
    if not tokens:
        return data
    token = rng.choice(tokens)
    return data[: token.start()] + data[token.end() :]


def duplicate_token(data: bytes, rng: random.Random) -> bytes:
    tokens = _tokens(data)
    if not tokens:
        return data
    token = rng.choice(tokens)
    return data[: token.end()] + b" " + token.group() + data[token.end() :]


def swap_literal(data: bytes, rng: random.Random, jsonld: bool) -> bytes:
    text = data.decode("utf-8", "surrogateescape")
    matches = list((_JSON_VALUE if jsonld else _TTL_LITERAL).finditer(text))
    if not matches:
        return data
    match = rng.choice(matches)
    value = rng.choice(JSON_VALUES if jsonld else TURTLE_VALUES)
    return (text[: match.start()] + value + text[match.end() :]).encode("utf-8", "surrogateescape")


def nest(data: bytes, rng: random.Random, jsonld: bool) -> bytes:
    text = data.decode("utf-8", "surrogateescape")
    matches = list((_JSON_VALUE if jsonld else _TTL_LITERAL).finditer(text))
    if not matches:
        return data
    match = rng.choice(matches)
    depth = rng.choice([1, 2, 5, 31, 33, 200])
    if jsonld:
        wrapped = "[" * depth + match.group() + "]" * depth
    else:
        opening, closing = rng.choice([("( ", " )"), ("[ ip:x ", " ]")])
        wrapped = opening * depth + match.group() + closing * depth
    return (text[: match.start()] + wrapped + text[match.end() :]).encode("utf-8", "surrogateescape")


def inject(data: bytes, rng: random.Random, jsonld: bool) -> bytes:
    if jsonld:
        text = data.decode("utf-8", "surrogateescape")
        braces = [m.end() for m in re.finditer(r"\{", text)]
        if not braces:
            return data
        at = rng.choice(braces)
        return (text[:at] + rng.choice(JSON_MEMBERS) + ", " + text[at:]).encode("utf-8", "surrogateescape")
    return data + b"\n" + rng.choice(TURTLE_STATEMENTS).encode("utf-8") + b"\n"


def splice(data: bytes, rng: random.Random, other: bytes) -> bytes:
    if not data or not other:
        return data
    start = rng.randrange(len(other))
    chunk = other[start : start + rng.randrange(1, 200)]
    at = rng.randrange(len(data))
    return data[:at] + chunk + data[at:]


def mutate(rng: random.Random) -> tuple[bytes, str, list[str]]:
    """A mutated example: (data, format, the mutations applied)."""
    path = rng.choice(CASES)
    jsonld = path.suffix == ".jsonld"
    data = path.read_bytes()
    applied: list[str] = [path.name]
    operations: dict[str, Callable[[bytes], bytes]] = {
        "flip": lambda d: flip_byte(d, rng),
        "delete": lambda d: delete_token(d, rng),
        "duplicate": lambda d: duplicate_token(d, rng),
        "literal": lambda d: swap_literal(d, rng, jsonld),
        "nest": lambda d: nest(d, rng, jsonld),
        "inject": lambda d: inject(d, rng, jsonld),
        "splice": lambda d: splice(d, rng, rng.choice(CASES).read_bytes()),
        "replace": lambda d: rng.choice(JSON_VALUES if jsonld else TURTLE_VALUES).encode("utf-8"),
    }
    weights = {"flip": 2, "delete": 2, "duplicate": 2, "literal": 5, "nest": 1, "inject": 2, "splice": 1, "replace": 1}
    for _ in range(rng.randint(1, 4)):
        name = rng.choices(list(weights), list(weights.values()))[0]
        data = operations[name](data)
        applied.append(name)
    fmt = "json-ld" if jsonld else "turtle"
    return data, fmt, applied


class NetworkAttemptError(AssertionError):
    """Case processing tried to open a network connection."""


@contextmanager
def no_network() -> Iterator[None]:
    """Fail on any outgoing connection while the block runs (nothing in case processing may connect)."""
    original = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        raise NetworkAttemptError(f"case processing tried to connect to {address!r}")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]


def outcome(data: bytes, fmt: str) -> str:
    """'decided' or the refusing error's class name; any other exception propagates."""
    from kb.engine import determine_text
    from kb.errors import KnowledgeGraphError

    try:
        determine_text(data, fmt, "fuzz")
    except KnowledgeGraphError as exc:
        return type(exc).__name__
    return "decided"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="how long to run (default 300)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--failures", type=Path, default=Path("var/fuzz-failures"), help="where failing inputs go")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # rdflib logs every ill-typed literal it meets
    warnings.simplefilter("ignore")  # and warns about odd booleans
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + args.seconds
    with no_network():
        while time.monotonic() < deadline:
            data, fmt, applied = mutate(rng)
            try:
                counts[outcome(data, fmt)] += 1
            except Exception:
                counts["unhandled"] += 1
                args.failures.mkdir(parents=True, exist_ok=True)
                stem = args.failures / f"{seed}-{sum(counts.values())}"
                stem.with_suffix(".ttl" if fmt == "turtle" else ".jsonld").write_bytes(data)
                stem.with_suffix(".txt").write_text(" ".join(applied) + "\n" + traceback.format_exc(), encoding="utf-8")
    total = sum(counts.values())
    print(json.dumps({"seed": seed, "seconds": args.seconds, "inputs": total, **dict(sorted(counts.items()))}))
    return 1 if counts["unhandled"] else 0


if __name__ == "__main__":
    sys.exit(main())
