"""Mutated example bundles are decided or refused with a BundleError / engine error, never anything else.

Bounded for CI (30 inputs, fixed seed); IPKG_FUZZ_EXAMPLES=N raises the count.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from kb.engine import determine_graph
from kb.errors import CaseFormError, UnsupportedRequestError
from kb.fhir.bundle import read_bundle
from kb.fhir.mapper import map_bundle
from kb.knowledge import load_knowledge
from tests.fhir.bundles import bundle, encode

NAMES = ["cg300-acute-approved", "cg301-lines-facet-levels-approved", "cg305-sij-approved", "pas/pas-epidural-approved"]
REPLACEMENTS = [None, "", 0, -1, 10**12, 1.5, True, [], {}, "x" * 300, "2024-13-45", "Patient/none", "ip:present",
                {"reference": "#x"}, {"coding": [{"system": "https://w3id.org/ipkg/ontology", "code": "Lumbar"}]}]
EXAMPLES = int(os.environ.get("IPKG_FUZZ_EXAMPLES", "30"))


def _slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _slots(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _slots(item, (*path, i))
    return found


def _replace(data: Any, path: tuple[Any, ...], new: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = new


@seed(20261207)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NAMES), st.integers(min_value=0, max_value=10**6), st.sampled_from(REPLACEMENTS), st.booleans())
def test_mutated_bundles_are_decided_or_refused(name: str, where: int, new: Any, delete: bool) -> None:
    data = bundle(name)
    slots = _slots(data)
    path = slots[where % len(slots)]
    if delete and len(path) > 1:
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    else:
        _replace(data, path, new)
    from kb.fhir.outcome import BundleError

    try:
        mapped = map_bundle(read_bundle(encode(data), 32), load_knowledge())
        determine_graph(mapped.graph, "fuzz")
    except (BundleError, CaseFormError, UnsupportedRequestError):
        pass
