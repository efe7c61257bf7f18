"""Property-based fuzzing of every case parser and of the case endpoints (bounded for CI).

The mutations are those of ``tests/fuzz_cases.py``, driven by hypothesis (so a failure is shrunk
and replayed). ``IPKG_FUZZ_EXAMPLES`` raises the number of inputs per test for a longer local run;
``scripts/fuzz.sh`` runs the same mutations for a fixed time.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.errors import CaseSyntaxError
from kb.pipeline.caseio import JSONLD, TURTLE, parse_case
from tests.fuzz_cases import mutate, no_network, outcome

EXAMPLES = int(os.environ.get("IPKG_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("IPKG_FUZZ_EXAMPLES") is None,  # CI runs the same inputs every time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


@pytest.fixture(autouse=True)
def _quiet_rdflib() -> Iterator[None]:
    logging.disable(logging.WARNING)  # rdflib logs every ill-typed literal it meets
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


@FUZZ
@given(st.randoms(use_true_random=False))
def test_mutated_examples_are_decided_or_refused(rng: random.Random) -> None:
    data, fmt, applied = mutate(rng)
    with no_network():
        result = outcome(data, fmt)  # any exception other than the engine's own fails the test
    assert result in {"decided", "CaseSyntaxError", "CaseFormError", "UnsupportedRequestError"}, applied


def parsed_or_refused(data: bytes | str, fmt: str) -> None:
    """A parsed graph holds only storable text; a refusal is a CaseSyntaxError naming the source."""
    with no_network():
        try:
            graph = parse_case(data, fmt, "fuzz")
        except CaseSyntaxError as exc:
            assert str(exc).startswith("fuzz") and exc.problem
            return
    for triple in graph:
        for term in triple:
            str(term).encode("utf-8")  # raises on a lone surrogate: the store could not hold it


@FUZZ
@given(st.binary(max_size=2_000), st.sampled_from([TURTLE, JSONLD]))
def test_arbitrary_bytes_are_parsed_or_refused(data: bytes, fmt: str) -> None:
    parsed_or_refused(data, fmt)


@FUZZ
@given(st.text(max_size=500), st.sampled_from([TURTLE, JSONLD]))
def test_arbitrary_text_is_parsed_or_refused(text: str, fmt: str) -> None:
    """Text, lone surrogates included, is parsed or refused with a CaseSyntaxError."""
    parsed_or_refused(text, fmt)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from api.deps import get_settings
    from api.main import app
    from api.settings import Settings, TokenGrant

    directory = tmp_path_factory.mktemp("fuzz-service")
    fuzz_settings = Settings(
        store_path=directory / "store",
        audit_log=directory / "audit.log",
        tokens={"fuzz-token": TokenGrant(name="fuzz", scopes=["read", "write"])},
    )
    app.dependency_overrides[get_settings] = lambda: fuzz_settings
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


@settings(FUZZ, max_examples=max(EXAMPLES // 4, 20))
@given(st.randoms(use_true_random=False), st.sampled_from(["/cases", "/determinations"]))
def test_the_case_endpoints_answer_every_mutated_case_without_a_server_error(
    client: TestClient, rng: random.Random, path: str
) -> None:
    data, fmt, applied = mutate(rng)
    media = "text/turtle" if fmt == TURTLE else "application/ld+json"
    with no_network():
        response = client.post(path, content=data, headers={"Authorization": "Bearer fuzz-token", "content-type": media})
    assert response.status_code in {200, 201, 400, 413, 415, 422}, (applied, response.status_code, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]


def test_the_fuzz_runner_reports_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The longer local run (scripts/fuzz.sh) works and counts its inputs."""
    import json

    from tests.fuzz_cases import main

    assert main(["--seconds", "2", "--seed", "7", "--failures", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["inputs"] >= 1 and figures.get("unhandled", 0) == 0
