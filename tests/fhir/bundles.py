"""Example bundles for the FHIR tests, loaded fresh for each change a test makes."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from kb.resources import examples_dir


@cache
def _load(name: str) -> str:
    path = examples_dir() / "fhir" / f"{name}.json"
    return path.read_text(encoding="utf-8")


def bundle(name: str) -> dict[str, Any]:
    """A copy of ``examples/fhir/<name>.json`` (``pas/<name>`` for the hand-written ones)."""
    loaded: dict[str, Any] = json.loads(_load(name))
    return copy.deepcopy(loaded)


def resource(data: dict[str, Any], kind: str, index: int = 0) -> dict[str, Any]:
    """The ``index``-th resource of a type in a bundle."""
    found: list[dict[str, Any]] = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]
    return found[index]


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
