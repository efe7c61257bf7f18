"""In-process checks of the app's plumbing (the HTTP behaviour is tested in tests/service/)."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.deps import get_repository, get_settings
from api.main import app
from api.settings import Settings, TokenGrant

TOKEN = "in-process-token"


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        store_path=tmp_path / "store",
        audit_log=tmp_path / "audit.log",
        tokens={TOKEN: TokenGrant(name="in-process", scopes=["read", "write"])},
        case_workers_on_demand=True,  # these tests send no case
    )
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


def test_method_not_allowed_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.delete("/determinations")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.headers["content-type"] == "application/problem+json"


def test_openapi_declares_bearer_auth_and_problem_details(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operation = schema["paths"]["/determinations"]["get"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert "application/problem+json" in operation["responses"]["422"]["content"]
    assert "text/turtle" in schema["paths"]["/cases"]["post"]["requestBody"]["content"]


def test_invalid_parameters_are_problem_details(client: TestClient) -> None:
    response = client.get("/determinations", params={"limit": 0}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422
    assert response.json()["title"] == "Invalid request" and "limit" in response.json()["detail"]


def test_unexpected_errors_are_500_problems_with_the_correlation_id(client: TestClient, tmp_path: Path) -> None:
    class Broken:
        def get_determination(self, _: str) -> None:
            raise RuntimeError("boom: patient data must not leak")

    app.dependency_overrides[get_repository] = lambda: Broken()
    response = client.get("/determinations/x", headers={"Authorization": f"Bearer {TOKEN}", "X-Correlation-ID": "c-1"})
    assert response.status_code == 500
    assert response.json()["detail"] == "an unexpected error occurred (correlation id c-1)"
    assert "boom" not in response.text
    records = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert records[-1]["correlationId"] == "c-1" and records[-1]["outcome"] == "error"


def test_what_start_up_built_is_left_out_of_later_collections(client: TestClient) -> None:
    """A full collection walks only what requests created since start-up, not the knowledge and the
    rest of what start-up built (about 110 ms of collection, during which no request is answered)."""
    assert client.get("/health").status_code == 200
    frozen = gc.get_freeze_count()
    assert frozen > 100_000, f"only {frozen} objects frozen at start-up"
    assert len(gc.get_objects()) < frozen // 10


def test_the_frozen_objects_go_back_under_the_collector_when_the_application_stops(tmp_path: Path) -> None:
    app.dependency_overrides[get_settings] = lambda: Settings(
        store_path=tmp_path / "store", audit_log=tmp_path / "audit.log", case_workers_on_demand=True
    )
    try:
        with TestClient(app):
            assert gc.get_freeze_count() > 0
    finally:
        app.dependency_overrides.clear()
    assert gc.get_freeze_count() == 0
